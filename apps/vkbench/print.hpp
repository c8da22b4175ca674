// The screen report of one device (Markdown tables with what each figure counts).
#pragma once

#include <string>

#include "apps/vkbench/report.hpp"

namespace vkbench {

std::string report_text(const DeviceReport& report);

}  // namespace vkbench
