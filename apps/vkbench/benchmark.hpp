// Benchmarking one device from start to end: provenance, pipeline creation (first, so that cold
// is cold), ceilings, the kernel table and the end-to-end rates, into one DeviceReport.
#pragma once

#include <string>

#include "apps/vkbench/report.hpp"
#include "engine/device_info.hpp"
#include "engine/instance.hpp"

namespace vkbench {

DeviceReport benchmark_device(const vkm::Instance& instance, const vkm::DeviceInfo& info,
                              const Settings& settings, const std::string& command, bool verbose);

}  // namespace vkbench
