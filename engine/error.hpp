// The engine's single error path: every failing Vulkan call or impossible request throws
// vkm::Error, carrying the VkResult (if any), the call and where it happened. Apps catch it once.
#pragma once

#include <stdexcept>
#include <string>

#include "engine/vulkan.hpp"

namespace vkm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, VkResult result = VK_SUCCESS)
      : std::runtime_error(what), result_(result) {}
  VkResult result() const { return result_; }

 private:
  VkResult result_;
};

// A device choice (an index or a name substring) that names no device. The message says what the
// choice failed to match and lists the devices; the app adds which option the choice came from.
class DeviceChoiceError : public Error {
 public:
  using Error::Error;
};

// "VK_ERROR_OUT_OF_DEVICE_MEMORY" etc.
const char* result_name(VkResult result);

// Throws vkm::Error with a message that says what to do for the common fatal results.
[[noreturn]] void throw_vk_error(VkResult result, const char* call, const char* file, int line);

}  // namespace vkm

#define VKM_CHECK(call)                                              \
  do {                                                               \
    const VkResult vkm_result_ = (call);                             \
    if (vkm_result_ != VK_SUCCESS) {                                 \
      ::vkm::throw_vk_error(vkm_result_, #call, __FILE__, __LINE__); \
    }                                                                \
  } while (false)
