// What every measuring step of vkbench works with: the device, one kernel cache shared by all
// steps (a kernel is compiled once per device), the settings and a progress line printer.
#pragma once

#include <string>

#include "apps/vkbench/report.hpp"
#include "engine/device.hpp"
#include "engine/kernel.hpp"

namespace vkm::nn {}

namespace vkbench {

namespace nn = vkm::nn;

// "[  12.3 s] line" on stderr when verbose.
void progress_line(bool verbose, const std::string& line);

struct BenchContext {
  vkm::Device& device;
  vkm::KernelCache& kernels;
  const Settings& settings;
  bool verbose = true;  // progress lines on stderr

  void progress(const std::string& line) const;
  bool has_timestamps() const { return device.info().timestamp_valid_bits > 0; }
  bool is_cpu() const { return device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU; }
};

}  // namespace vkbench
