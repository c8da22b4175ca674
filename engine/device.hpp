// Device: the logical device on one chosen physical device — its compute queue, the buffer
// allocator, one-shot transfers (upload, download, fill) and the flags kernels are built with.
// Context bundles the Instance with the Device chosen by the user's --device.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "engine/device_info.hpp"
#include "engine/handle.hpp"
#include "engine/instance.hpp"
#include "engine/memory.hpp"
#include "engine/vulkan.hpp"

namespace vkm {

class Device {
 public:
  Device(const Instance& instance, const DeviceInfo& info);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  VkDevice get() const { return device_.get(); }
  VkQueue queue() const { return queue_; }
  const DeviceInfo& info() const { return info_; }
  Allocator& allocator() { return *allocator_; }

  // False when VKMNIST_NO_SUBGROUP_OPS=1: kernels then reduce through shared memory only, for
  // drivers whose subgroup code is broken (and to test that path).
  bool subgroup_ops() const { return subgroup_ops_; }
  // The kernels' shape on this device (kernel_shape_for: by device type, or VKMNIST_KERNELS).
  KernelShape kernel_shape() const { return kernel_shape_; }
  // VKMNIST_SUBGROUP_SIZE=n asks every kernel that does not name its own size for subgroups of
  // n (clamped to the device's range) where the device offers subgroup size control; 0 = driver's.
  uint32_t subgroup_size_request() const { return subgroup_size_request_; }
  // Whether kernels read activations through r32f storage texel buffers: where the device
  // offers them and VKMNIST_NO_TEXEL_BUFFERS=1 is not set. On lavapipe such a read goes through
  // the sampler's vectorised fetch instead of a per-lane loop: several times cheaper.
  bool texel_reads() const { return texel_reads_; }
  // ... and whether a buffer of `bytes` fits in one texel view (maxTexelBufferElements).
  bool texel_readable(VkDeviceSize bytes) const {
    return texel_reads_ && bytes / sizeof(float) <= info_.max_texel_buffer_elements;
  }
  // Whether texel reads may fetch four floats at once (rgba32f views; KernelDesc::texel_vec4).
  bool texel_vec4_reads() const { return texel_reads_ && info_.rgba32f_storage_texel_buffers; }
  // KernelDesc::texel_reads for a kernel whose read-only tensors are `bindings` (a bit mask) and
  // at most `largest_bytes` each: the mask where they can be texel reads, else 0.
  uint32_t texel_reads_for(uint32_t bindings, VkDeviceSize largest_bytes) const {
    return texel_readable(largest_bytes) ? bindings : 0u;
  }

  Buffer buffer(VkDeviceSize bytes, std::string name, MemoryKind kind = MemoryKind::kDevice) {
    return Buffer(*allocator_, bytes, kind, std::move(name));
  }

  // Synchronous transfers through a staging buffer (setup and readback, never per step).
  void upload(const Buffer& dst, std::span<const std::byte> bytes, VkDeviceSize offset = 0);
  void download(const Buffer& src, std::span<std::byte> bytes, VkDeviceSize offset = 0);
  void fill(const Buffer& dst, uint32_t word);

  // Records commands into a fresh command buffer, submits it and waits for it.
  void run_once(const std::function<void(VkCommandBuffer)>& record);

 private:
  struct DeviceOwner {
    VkDevice device = VK_NULL_HANDLE;
    ~DeviceOwner();
    VkDevice get() const { return device; }
  };

  DeviceInfo info_;
  DeviceOwner device_;  // declared before everything that needs the VkDevice: destroyed last
  VkQueue queue_ = VK_NULL_HANDLE;
  bool subgroup_ops_ = true;
  KernelShape kernel_shape_ = KernelShape::kCpu;
  uint32_t subgroup_size_request_ = 0;
  bool texel_reads_ = false;
  std::unique_ptr<Allocator> allocator_;
  Unique<VkCommandPool> command_pool_;
  Unique<VkFence> fence_;
};

struct ContextOptions {
  std::string device;       // --device: "" (default preference), index or name substring
  bool validation = false;  // or VKMNIST_VALIDATION=1
};

// The instance and the chosen device, in destruction order.
struct Context {
  explicit Context(const ContextOptions& options = {});
  Instance instance;
  Device device;
};

}  // namespace vkm
