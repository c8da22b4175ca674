// `vkmnist devices`: every Vulkan device — vendor, type, driver, API version, subgroup sizes and
// operations, shared memory and memory heaps — and which one vkmnist would pick.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <memory>
#include <string>

#include "apps/vkmnist/commands.hpp"
#include "engine/device_info.hpp"
#include "engine/instance.hpp"

namespace vkmnist {

namespace {

// How the kernels read activations on this device: through r32f / rgba32f storage texel buffers
// where it offers them (and VKMNIST_NO_TEXEL_BUFFERS is not set), else storage buffers.
std::string texel_reads(const vkm::DeviceInfo& d) {
  if (vkm::env_flag("VKMNIST_NO_TEXEL_BUFFERS")) return "off (VKMNIST_NO_TEXEL_BUFFERS)";
  if (!d.r32f_storage_texel_buffers) return "unsupported";
  return d.rgba32f_storage_texel_buffers ? "r32f+rgba32f" : "r32f";
}

// The kernel shape vkmnist uses on the device, and why.
std::string kernels(const vkm::DeviceInfo& d) {
  const char* env = std::getenv("VKMNIST_KERNELS");
  const bool forced = env != nullptr && env[0] != '\0';
  return fmt::format("{} ({})", vkm::kernel_shape_name(vkm::kernel_shape_for(d)),
                     forced ? "VKMNIST_KERNELS" : "by device type");
}

// Everything the text shows, as one JSON object (nlohmann escapes the driver's strings).
nlohmann::ordered_json device_json(const vkm::DeviceInfo& d, bool chosen) {
  nlohmann::ordered_json heaps = nlohmann::ordered_json::array();
  for (const auto& h : d.heaps)
    heaps.push_back({{"bytes", h.size}, {"device_local", h.device_local}});
  return {{"index", d.index},
          {"name", d.name},
          {"vendor", d.vendor},
          {"type", vkm::type_name(d.type)},
          {"driver", d.driver_name},
          {"driver_info", d.driver_info},
          {"driver_version", vkm::driver_version_string(d)},
          {"api", vkm::version_string(d.api_version)},
          {"subgroup_size", d.subgroup_size},
          {"subgroup_min", d.min_subgroup_size},
          {"subgroup_max", d.max_subgroup_size},
          {"subgroup_size_control", d.subgroup_size_control},
          {"subgroup_ops", vkm::subgroup_operations_string(d.subgroup_operations)},
          {"shared_memory", d.shared_memory_bytes},
          {"max_workgroup_invocations", d.max_workgroup_invocations},
          {"heaps", heaps},
          {"timestamp_bits", d.timestamp_valid_bits},
          {"timestamp_period_ns", d.timestamp_period_ns},
          {"texel_reads", texel_reads(d)},
          {"max_texel_buffer_elements", d.max_texel_buffer_elements},
          {"kernels", vkm::kernel_shape_name(vkm::kernel_shape_for(d))},
          {"usable", d.usable()},
          {"unusable_reason", d.unusable_reason},
          {"default", chosen}};
}

}  // namespace

std::function<int()> add_devices_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("devices", "List every Vulkan device and what vkmnist knows of it");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json,
                "One JSON object per line and device instead of text: everything the text shows");
  return [cmd, json]() -> int {
    (void)cmd;
    vkm::Instance instance;
    const auto devices = vkm::enumerate_devices(instance);
    const auto& chosen = vkm::select_device(devices, "");  // throws with advice when none
    (void)vkm::kernel_shape_for(chosen);  // a bad VKMNIST_KERNELS fails before any line
    for (const auto& d : devices) {
      if (*json) {
        fmt::print("{}\n", device_json(d, d.index == chosen.index).dump());
        continue;
      }
      fmt::print("{}{}\n", vkm::describe(d), d.index == chosen.index ? "  <- default" : "");
      std::string heaps;
      for (const auto& h : d.heaps) {
        heaps += fmt::format(" {:.1f} GiB{}", static_cast<double>(h.size) / (1 << 30),
                             h.device_local ? " (device-local)" : "");
      }
      fmt::print(
          "    heaps:{} | timestamps {} bits, {} ns/tick | max workgroup {} | texel reads {} (up "
          "to {} elements) | kernels {}\n",
          heaps, d.timestamp_valid_bits, d.timestamp_period_ns, d.max_workgroup_invocations,
          texel_reads(d), d.max_texel_buffer_elements, kernels(d));
    }
    return 0;
  };
}

}  // namespace vkmnist
