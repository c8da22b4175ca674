// Unique<H>: the single RAII owner of one Vulkan handle. Move-only; destroys the handle with the
// device-level destroy function it was given. Every engine class holds its handles this way.
#pragma once

#include <utility>

#include "engine/vulkan.hpp"

namespace vkm {

template <typename Handle>
class Unique {
 public:
  using Destroy = void (*)(VkDevice, Handle, const VkAllocationCallbacks*);

  Unique() = default;
  Unique(VkDevice device, Handle handle, Destroy destroy)
      : device_(device), handle_(handle), destroy_(destroy) {}
  Unique(Unique&& other) noexcept { *this = std::move(other); }
  Unique& operator=(Unique&& other) noexcept {
    if (this != &other) {
      reset();
      device_ = std::exchange(other.device_, VK_NULL_HANDLE);
      handle_ = std::exchange(other.handle_, VK_NULL_HANDLE);
      destroy_ = std::exchange(other.destroy_, nullptr);
    }
    return *this;
  }
  Unique(const Unique&) = delete;
  Unique& operator=(const Unique&) = delete;
  ~Unique() { reset(); }

  Handle get() const { return handle_; }
  explicit operator bool() const { return handle_ != VK_NULL_HANDLE; }

  void reset() {
    if (handle_ != VK_NULL_HANDLE && destroy_ != nullptr) destroy_(device_, handle_, nullptr);
    handle_ = VK_NULL_HANDLE;
  }

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  Handle handle_ = VK_NULL_HANDLE;
  Destroy destroy_ = nullptr;
};

}  // namespace vkm
