// Instance: loads Vulkan through volk, creates the VkInstance and, on request, the Khronos
// validation layer with a debug messenger that counts (and prints) every warning and error.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "engine/vulkan.hpp"

namespace vkm {

struct InstanceOptions {
  // Enable VK_LAYER_KHRONOS_validation; also switched on by VKMNIST_VALIDATION=1.
  bool validation = false;
};

class Instance {
 public:
  explicit Instance(InstanceOptions options = {});
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  VkInstance get() const { return instance_; }
  bool validation() const { return messenger_ != VK_NULL_HANDLE; }
  // Validation warnings and errors seen since creation (tests require zero).
  uint64_t validation_messages() const { return messages_->load(); }

 private:
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  // Heap-held so the messenger callback's pointer stays valid.
  std::unique_ptr<std::atomic<uint64_t>> messages_;
};

// True when the environment variable is set to something other than "" or "0".
bool env_flag(const char* name);

}  // namespace vkm
