// DeviceInfo: what vkmnist knows about one physical device (identity, driver, subgroups, limits)
// and whether it can run vkmnist. enumerate_devices() lists them all; select_device() applies
// the user's --device choice or the default preference discrete > integrated > virtual > CPU.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/vulkan.hpp"

namespace vkm {

class Instance;

struct MemoryHeapInfo {
  uint64_t size = 0;
  bool device_local = false;
};

struct DeviceInfo {
  uint32_t index = 0;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  std::string name;
  uint32_t vendor_id = 0;
  std::string vendor;  // "NVIDIA", "AMD", "Intel", "Apple", "Mesa (CPU)", ...
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  std::string driver_name;  // "llvmpipe", "NVIDIA", ...
  std::string driver_info;  // "Mesa 22.3.6 (LLVM 15.0.6)"
  uint32_t driver_version = 0;
  uint32_t api_version = 0;
  uint32_t subgroup_size = 0;
  uint32_t min_subgroup_size = 0;
  uint32_t max_subgroup_size = 0;
  VkSubgroupFeatureFlags subgroup_operations = 0;
  bool subgroup_in_compute = false;
  bool subgroup_size_control = false;  // can require a size and full subgroups in compute
  uint32_t max_compute_workgroup_subgroups = 0;
  uint32_t shared_memory_bytes = 0;
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_push_constants = 0;
  uint32_t max_group_count[3] = {0, 0, 0};
  // Storage texel buffers of R32_SFLOAT (required by core Vulkan, checked anyway) and their
  // size limit in elements (at least 65,536).
  bool r32f_storage_texel_buffers = false;
  bool rgba32f_storage_texel_buffers = false;  // the same, four floats per texel
  uint32_t max_texel_buffer_elements = 0;
  float timestamp_period_ns = 0.0f;
  uint32_t compute_queue_family = UINT32_MAX;
  uint32_t timestamp_valid_bits = 0;
  std::vector<MemoryHeapInfo> heaps;
  std::string unusable_reason;  // empty when vkmnist can run on it

  bool usable() const { return unusable_reason.empty(); }
};

std::vector<DeviceInfo> enumerate_devices(const Instance& instance);

// How the kernels map their work onto invocations (DESIGN.md, "Two kernel shapes"): kCpu for
// CPU drivers such as lavapipe (few invocations, each a whole sample with a large register tile),
// kGpu for GPUs (output pixels and samples across invocations, tens of thousands per dispatch).
enum class KernelShape { kCpu, kGpu };
const char* kernel_shape_name(KernelShape shape);  // "cpu", "gpu"
// A CPU-type device gets kCpu, every other kGpu; VKMNIST_KERNELS=cpu|gpu overrides. Throws
// vkm::Error naming the variable for any other value.
KernelShape kernel_shape_for(const DeviceInfo& info);

// The subgroup size VKMNIST_SUBGROUP_SIZE asks kernels to require (0: unset, the driver's
// choice). Throws Error naming the sizes the device offers when the value is not one of them.
uint32_t subgroup_size_request_for(const DeviceInfo& info);

// choice: "" for the default preference, a number for an index, otherwise a case-insensitive
// substring of the device name. Throws vkm::Error naming the devices when nothing matches.
const DeviceInfo& select_device(const std::vector<DeviceInfo>& devices, std::string_view choice);

const char* type_name(VkPhysicalDeviceType type);
std::string version_string(uint32_t api_version);
// Driver versions are vendor-encoded (NVIDIA uses 10.8.8.6 bits); decode them the vendor's way.
std::string driver_version_string(const DeviceInfo& info);
// "basic arithmetic ballot ..." for the subgroup operation bits.
std::string subgroup_operations_string(VkSubgroupFeatureFlags ops);
// The one info line: name, vendor, type, driver and API version, subgroups, shared memory.
std::string describe(const DeviceInfo& info);

}  // namespace vkm
