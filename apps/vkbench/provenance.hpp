// Where a measurement comes from: the device (name, vendor, type, driver, API, subgroups, memory
// heaps, the driver knobs in the environment) and the host (CPU, threads, load at the start).
#pragma once

#include "apps/vkbench/report.hpp"
#include "engine/device_info.hpp"

namespace vkbench {

// subgroup_ops_used: false when the engine was told not to use subgroup operations.
Provenance provenance(const vkm::DeviceInfo& info, bool subgroup_ops_used);
Host host_info();
std::string now_iso8601();

}  // namespace vkbench
