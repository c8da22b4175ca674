// Provenance from the engine's DeviceInfo, the environment and /proc.
#include "apps/vkbench/provenance.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <thread>

#include "engine/error.hpp"

namespace vkbench {

namespace {

// Environment variables that change what a driver or vkmnist does (and so what is measured).
constexpr const char* kKnobs[] = {
    "LP_NATIVE_VECTOR_WIDTH",    "LP_NUM_THREADS",     "VKMNIST_NO_SUBGROUP_OPS",
    "VKMNIST_SUBGROUP_SIZE",     "VKMNIST_VALIDATION", "VKMNIST_NO_TEXEL_BUFFERS",
    "MESA_SHADER_CACHE_DISABLE", "RADV_PERFTEST",      "ANV_DEBUG",
    "__GL_SHADER_DISK_CACHE",    "VKMNIST_KERNELS"};

}  // namespace

Provenance provenance(const vkm::DeviceInfo& d, bool subgroup_ops_used) {
  Provenance p;
  p.index = d.index;
  p.name = d.name;
  p.vendor = d.vendor;
  p.vendor_id = d.vendor_id;
  p.type = vkm::type_name(d.type);
  p.driver_name = d.driver_name;
  p.driver_info = d.driver_info;
  p.driver_version = vkm::driver_version_string(d);
  p.api_version = vkm::version_string(d.api_version);
  p.subgroup_size = d.subgroup_size;
  p.subgroup_min = d.min_subgroup_size;
  p.subgroup_max = d.max_subgroup_size;
  p.subgroup_size_control = d.subgroup_size_control;
  p.subgroup_operations = vkm::subgroup_operations_string(d.subgroup_operations);
  p.subgroup_ops_used = subgroup_ops_used;
  try {
    p.kernels = vkm::kernel_shape_name(vkm::kernel_shape_for(d));
  } catch (const vkm::Error&) {  // a report of that very failure must still be written
    p.kernels = "invalid VKMNIST_KERNELS";
  }
  p.timestamp_period_ns = d.timestamp_period_ns;
  p.timestamp_bits = d.timestamp_valid_bits;
  for (const vkm::MemoryHeapInfo& h : d.heaps) p.heaps.push_back({h.size, h.device_local});
  for (const char* knob : kKnobs) {
    if (const char* value = std::getenv(knob)) p.environment[knob] = value;
  }
  return p;
}

Host host_info() {
  Host h;
  h.threads = std::thread::hardware_concurrency();
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) h.cpu = line.substr(line.find_first_not_of(' ', colon + 1));
      break;
    }
  }
  std::ifstream loadavg("/proc/loadavg");
  double one = 0, five = 0, fifteen = 0;
  if (loadavg >> one >> five >> fifteen)
    h.load_average = fmt::format("{:.2f} {:.2f} {:.2f}", one, five, fifteen);
  return h;
}

std::string now_iso8601() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&t, &utc);
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", utc);
}

}  // namespace vkbench
