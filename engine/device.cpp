// Logical device creation (Vulkan 1.2 features, subgroup size control) and one-shot transfers.
#include "engine/device.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/error.hpp"

namespace vkm {

Device::DeviceOwner::~DeviceOwner() {
  if (device != VK_NULL_HANDLE) {
    vkDeviceWaitIdle(device);
    vkDestroyDevice(device, nullptr);
  }
}

Device::Device(const Instance& instance, const DeviceInfo& info) : info_(info) {
  (void)instance;
  if (!info.usable())
    throw Error(fmt::format("device {} cannot run vkmnist: {}", info.name, info.unusable_reason));
  subgroup_ops_ = !env_flag("VKMNIST_NO_SUBGROUP_OPS");
  kernel_shape_ = kernel_shape_for(info);
  texel_reads_ = info.r32f_storage_texel_buffers && !env_flag("VKMNIST_NO_TEXEL_BUFFERS");
  subgroup_size_request_ = subgroup_size_request_for(info);

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue_info.queueFamilyIndex = info.compute_queue_family;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;

  // Features: timeline semaphores (1.2 core); subgroup size control where offered.
  VkPhysicalDeviceSubgroupSizeControlFeatures size_control{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
  size_control.subgroupSizeControl = VK_TRUE;
  size_control.computeFullSubgroups = VK_TRUE;
  VkPhysicalDeviceVulkan12Features v12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  v12.timelineSemaphore = VK_TRUE;
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  features.pNext = &v12;
  std::vector<const char*> extensions;
  if (info.subgroup_size_control) {
    v12.pNext = &size_control;
    if (info.api_version < VK_API_VERSION_1_3) {
      extensions.push_back(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
    }
  }

  VkDeviceCreateInfo create{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  create.pNext = &features;
  create.queueCreateInfoCount = 1;
  create.pQueueCreateInfos = &queue_info;
  create.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  create.ppEnabledExtensionNames = extensions.data();
  VKM_CHECK(vkCreateDevice(info.physical, &create, nullptr, &device_.device));
  volkLoadDevice(device_.device);
  vkGetDeviceQueue(device_.device, info.compute_queue_family, 0, &queue_);

  allocator_ = std::make_unique<Allocator>(info.physical, device_.device);

  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool_info.queueFamilyIndex = info.compute_queue_family;
  VkCommandPool pool = VK_NULL_HANDLE;
  VKM_CHECK(vkCreateCommandPool(device_.device, &pool_info, nullptr, &pool));
  command_pool_ = Unique<VkCommandPool>(device_.device, pool, vkDestroyCommandPool);

  VkFenceCreateInfo fence_info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkFence fence = VK_NULL_HANDLE;
  VKM_CHECK(vkCreateFence(device_.device, &fence_info, nullptr, &fence));
  fence_ = Unique<VkFence>(device_.device, fence, vkDestroyFence);
}

Device::~Device() {
  if (device_.device != VK_NULL_HANDLE) vkDeviceWaitIdle(device_.device);
}

void Device::run_once(const std::function<void(VkCommandBuffer)>& record) {
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = command_pool_.get();
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VKM_CHECK(vkAllocateCommandBuffers(get(), &alloc, &cmd));
  struct FreeOnExit {
    VkDevice device;
    VkCommandPool pool;
    VkCommandBuffer cmd;
    ~FreeOnExit() { vkFreeCommandBuffers(device, pool, 1, &cmd); }
  } free_on_exit{get(), command_pool_.get(), cmd};

  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VKM_CHECK(vkBeginCommandBuffer(cmd, &begin));
  record(cmd);
  VKM_CHECK(vkEndCommandBuffer(cmd));

  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &cmd;
  VkFence fence = fence_.get();
  VKM_CHECK(vkResetFences(get(), 1, &fence));
  VKM_CHECK(vkQueueSubmit(queue_, 1, &submit, fence));
  VKM_CHECK(vkWaitForFences(get(), 1, &fence, VK_TRUE, UINT64_MAX));
}

namespace {

// Makes every earlier transfer/compute write visible to every later transfer/compute access.
void full_barrier(VkCommandBuffer cmd) {
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                          VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                          VK_ACCESS_HOST_READ_BIT;
  const VkPipelineStageFlags stages =
      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(cmd, stages, stages | VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, nullptr,
                       0, nullptr);
}

void check_range(const Buffer& buffer, VkDeviceSize offset, size_t bytes, const char* what) {
  if (offset + bytes > buffer.size()) {
    throw Error(fmt::format("{} of {} bytes at offset {} overruns buffer '{}' of {} bytes", what,
                            bytes, offset, buffer.name(), buffer.size()));
  }
}

}  // namespace

void Device::upload(const Buffer& dst, std::span<const std::byte> bytes, VkDeviceSize offset) {
  check_range(dst, offset, bytes.size(), "upload");
  if (bytes.empty()) return;
  Buffer staging = buffer(bytes.size(), "staging upload", MemoryKind::kUpload);
  std::memcpy(staging.mapped(), bytes.data(), bytes.size());
  run_once([&](VkCommandBuffer cmd) {
    full_barrier(cmd);
    VkBufferCopy region{0, offset, bytes.size()};
    vkCmdCopyBuffer(cmd, staging.get(), dst.get(), 1, &region);
    full_barrier(cmd);
  });
}

void Device::download(const Buffer& src, std::span<std::byte> bytes, VkDeviceSize offset) {
  check_range(src, offset, bytes.size(), "download");
  if (bytes.empty()) return;
  Buffer staging = buffer(bytes.size(), "staging download", MemoryKind::kReadback);
  run_once([&](VkCommandBuffer cmd) {
    full_barrier(cmd);
    VkBufferCopy region{offset, 0, bytes.size()};
    vkCmdCopyBuffer(cmd, src.get(), staging.get(), 1, &region);
    full_barrier(cmd);
  });
  // Readback memory may be non-coherent-cached on some drivers; we require HOST_COHERENT.
  std::memcpy(bytes.data(), staging.mapped(), bytes.size());
}

void Device::fill(const Buffer& dst, uint32_t word) {
  run_once([&](VkCommandBuffer cmd) {
    full_barrier(cmd);
    vkCmdFillBuffer(cmd, dst.get(), 0, VK_WHOLE_SIZE, word);
    full_barrier(cmd);
  });
}

Context::Context(const ContextOptions& options)
    : instance(InstanceOptions{options.validation}),
      device(instance, select_device(enumerate_devices(instance), options.device)) {}

}  // namespace vkm
