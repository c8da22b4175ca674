// Error messages for failed Vulkan calls: the result's name, the call, and a hint a user can act
// on.
#include "engine/error.hpp"

#include <fmt/format.h>

namespace vkm {

const char* result_name(VkResult result) {
  switch (result) {
#define VKM_RESULT_CASE(r) \
  case r:                  \
    return #r;
    VKM_RESULT_CASE(VK_SUCCESS)
    VKM_RESULT_CASE(VK_NOT_READY)
    VKM_RESULT_CASE(VK_TIMEOUT)
    VKM_RESULT_CASE(VK_INCOMPLETE)
    VKM_RESULT_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    VKM_RESULT_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    VKM_RESULT_CASE(VK_ERROR_INITIALIZATION_FAILED)
    VKM_RESULT_CASE(VK_ERROR_DEVICE_LOST)
    VKM_RESULT_CASE(VK_ERROR_MEMORY_MAP_FAILED)
    VKM_RESULT_CASE(VK_ERROR_LAYER_NOT_PRESENT)
    VKM_RESULT_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    VKM_RESULT_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    VKM_RESULT_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    VKM_RESULT_CASE(VK_ERROR_TOO_MANY_OBJECTS)
    VKM_RESULT_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    VKM_RESULT_CASE(VK_ERROR_FRAGMENTED_POOL)
    VKM_RESULT_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    VKM_RESULT_CASE(VK_ERROR_UNKNOWN)
#undef VKM_RESULT_CASE
    default:
      return "VkResult(unknown)";
  }
}

static const char* hint_for(VkResult result) {
  switch (result) {
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      return " — the device ran out of memory: try a smaller batch";
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      return " — the host ran out of memory";
    case VK_ERROR_DEVICE_LOST:
      return " — the device was lost (driver crash or GPU watchdog); rerun, and report it if it "
             "repeats";
    case VK_ERROR_INCOMPATIBLE_DRIVER:
      return " — no Vulkan 1.2 driver found: install mesa-vulkan-drivers or your GPU's driver";
    case VK_ERROR_LAYER_NOT_PRESENT:
      return " — the validation layer is missing: install vulkan-validationlayers";
    default:
      return "";
  }
}

void throw_vk_error(VkResult result, const char* call, const char* file, int line) {
  throw Error(fmt::format("{} failed with {} ({}:{}){}", call, result_name(result), file, line,
                          hint_for(result)),
              result);
}

}  // namespace vkm
