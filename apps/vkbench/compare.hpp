// `vkbench compare A.json B.json ...`: devices and vendors side by side in one table —
// provenance, ceilings, end-to-end rates (with bench/torch_reference.py's PyTorch rows), pipeline
// creation, and the kernel table summed per kernel. A figure a file does not hold is "—".
#pragma once

#include <string>
#include <vector>

#include "apps/vkbench/report.hpp"

namespace vkbench {

struct NamedReport {
  std::string file;
  DeviceReport report;
};

// brief: the kernel time per family (convolutions, each norm, the rest) instead of per kernel.
std::string compare_text(const std::vector<NamedReport>& reports, bool brief = false);

}  // namespace vkbench
