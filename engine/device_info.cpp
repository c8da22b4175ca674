// Physical device enumeration, description and selection.
#include "engine/device_info.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "engine/error.hpp"
#include "engine/instance.hpp"

namespace vkm {

namespace {

std::string vendor_name(uint32_t id) {
  switch (id) {
    case 0x10DE:
      return "NVIDIA";
    case 0x1002:
      return "AMD";
    case 0x8086:
      return "Intel";
    case 0x106B:
      return "Apple";
    case 0x13B5:
      return "ARM";
    case 0x5143:
      return "Qualcomm";
    case 0x10005:
      return "Mesa";
    default:
      return fmt::format("0x{:04x}", id);
  }
}

int type_rank(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return 3;
    default:
      return 4;
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool has_extension(VkPhysicalDevice physical, const char* name) {
  uint32_t count = 0;
  VKM_CHECK(vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, nullptr));
  std::vector<VkExtensionProperties> extensions(count);
  VKM_CHECK(vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, extensions.data()));
  return std::any_of(extensions.begin(), extensions.end(), [&](const VkExtensionProperties& e) {
    return std::string_view(e.extensionName) == name;
  });
}

DeviceInfo query(VkPhysicalDevice physical, uint32_t index) {
  DeviceInfo info;
  info.index = index;
  info.physical = physical;

  VkPhysicalDeviceProperties basic{};
  vkGetPhysicalDeviceProperties(physical, &basic);
  info.api_version = basic.apiVersion;
  if (basic.apiVersion < VK_API_VERSION_1_2) {
    info.name = basic.deviceName;
    info.vendor_id = basic.vendorID;
    info.vendor = vendor_name(basic.vendorID);
    info.type = basic.deviceType;
    info.driver_version = basic.driverVersion;
    info.unusable_reason = "Vulkan " + version_string(basic.apiVersion) + " < 1.2";
    return info;
  }

  VkPhysicalDeviceSubgroupSizeControlProperties size_control{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties subgroup{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  const bool size_control_api =
      basic.apiVersion >= VK_API_VERSION_1_3 ||
      has_extension(physical, VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
  props.pNext = &subgroup;
  subgroup.pNext = &driver;
  if (size_control_api) driver.pNext = &size_control;
  vkGetPhysicalDeviceProperties2(physical, &props);

  VkPhysicalDeviceSubgroupSizeControlFeatures size_features{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  if (size_control_api) features.pNext = &size_features;
  vkGetPhysicalDeviceFeatures2(physical, &features);

  const auto& p = props.properties;
  info.name = p.deviceName;
  info.vendor_id = p.vendorID;
  info.vendor = vendor_name(p.vendorID);
  info.type = p.deviceType;
  info.driver_name = driver.driverName;
  info.driver_info = driver.driverInfo;
  info.driver_version = p.driverVersion;
  info.subgroup_size = subgroup.subgroupSize;
  info.subgroup_operations = subgroup.supportedOperations;
  info.subgroup_in_compute = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
  info.min_subgroup_size = subgroup.subgroupSize;
  info.max_subgroup_size = subgroup.subgroupSize;
  if (size_control_api && size_features.subgroupSizeControl && size_features.computeFullSubgroups &&
      (size_control.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT)) {
    info.subgroup_size_control = true;
    info.min_subgroup_size = size_control.minSubgroupSize;
    info.max_subgroup_size = size_control.maxSubgroupSize;
    info.max_compute_workgroup_subgroups = size_control.maxComputeWorkgroupSubgroups;
  }
  info.shared_memory_bytes = p.limits.maxComputeSharedMemorySize;
  info.max_workgroup_invocations = p.limits.maxComputeWorkGroupInvocations;
  info.max_push_constants = p.limits.maxPushConstantsSize;
  for (int i = 0; i < 3; ++i) info.max_group_count[i] = p.limits.maxComputeWorkGroupCount[i];
  info.timestamp_period_ns = p.limits.timestampPeriod;
  info.max_texel_buffer_elements = p.limits.maxTexelBufferElements;
  VkFormatProperties r32f{};
  vkGetPhysicalDeviceFormatProperties(physical, VK_FORMAT_R32_SFLOAT, &r32f);
  info.r32f_storage_texel_buffers =
      (r32f.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT) != 0;
  VkFormatProperties rgba32f{};
  vkGetPhysicalDeviceFormatProperties(physical, VK_FORMAT_R32G32B32A32_SFLOAT, &rgba32f);
  info.rgba32f_storage_texel_buffers =
      (rgba32f.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT) != 0;

  uint32_t family_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &family_count, families.data());
  // Prefer a compute family with timestamps; among those, one without graphics (async compute).
  int best_score = -1;
  for (uint32_t i = 0; i < family_count; ++i) {
    if (!(families[i].queueFlags & VK_QUEUE_COMPUTE_BIT)) continue;
    const int score = (families[i].timestampValidBits > 0 ? 2 : 0) +
                      ((families[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) ? 0 : 1);
    if (score > best_score) {
      best_score = score;
      info.compute_queue_family = i;
      info.timestamp_valid_bits = families[i].timestampValidBits;
    }
  }

  VkPhysicalDeviceMemoryProperties memory{};
  vkGetPhysicalDeviceMemoryProperties(physical, &memory);
  for (uint32_t i = 0; i < memory.memoryHeapCount; ++i) {
    info.heaps.push_back({memory.memoryHeaps[i].size,
                          (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0});
  }

  constexpr VkSubgroupFeatureFlags kNeeded =
      VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  if (info.compute_queue_family == UINT32_MAX) {
    info.unusable_reason = "no compute queue";
  } else if (!info.subgroup_in_compute || (info.subgroup_operations & kNeeded) != kNeeded) {
    info.unusable_reason = "no subgroup basic+arithmetic operations in compute shaders";
  }
  return info;
}

}  // namespace

const char* type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "CPU";
    default:
      return "other";
  }
}

std::string version_string(uint32_t v) {
  return fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
                     VK_API_VERSION_PATCH(v));
}

std::string driver_version_string(const DeviceInfo& info) {
  const uint32_t v = info.driver_version;
  if (info.vendor_id == 0x10DE) {
    return fmt::format("{}.{}.{}.{}", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff, v & 0x3f);
  }
  return version_string(v);
}

std::string subgroup_operations_string(VkSubgroupFeatureFlags ops) {
  static constexpr std::pair<VkSubgroupFeatureFlagBits, const char*> kNames[] = {
      {VK_SUBGROUP_FEATURE_BASIC_BIT, "basic"},
      {VK_SUBGROUP_FEATURE_VOTE_BIT, "vote"},
      {VK_SUBGROUP_FEATURE_ARITHMETIC_BIT, "arithmetic"},
      {VK_SUBGROUP_FEATURE_BALLOT_BIT, "ballot"},
      {VK_SUBGROUP_FEATURE_SHUFFLE_BIT, "shuffle"},
      {VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT, "shuffle_relative"},
      {VK_SUBGROUP_FEATURE_CLUSTERED_BIT, "clustered"},
      {VK_SUBGROUP_FEATURE_QUAD_BIT, "quad"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (!(ops & bit)) continue;
    if (!out.empty()) out += ' ';
    out += name;
  }
  return out.empty() ? "none" : out;
}

std::string describe(const DeviceInfo& d) {
  std::string sizes = d.min_subgroup_size == d.max_subgroup_size
                          ? fmt::format("{}", d.subgroup_size)
                          : fmt::format("{} (control {}..{})", d.subgroup_size, d.min_subgroup_size,
                                        d.max_subgroup_size);
  std::string line = fmt::format(
      "[{}] {} | {} {} | driver {} {} | Vulkan {} | subgroup {} [{}] | shared {} KiB", d.index,
      d.name, d.vendor, type_name(d.type), d.driver_name.empty() ? "?" : d.driver_name,
      d.driver_info.empty() ? driver_version_string(d) : d.driver_info,
      version_string(d.api_version), sizes, subgroup_operations_string(d.subgroup_operations),
      d.shared_memory_bytes / 1024);
  if (!d.usable()) line += " | unusable: " + d.unusable_reason;
  return line;
}

const char* kernel_shape_name(KernelShape shape) {
  return shape == KernelShape::kCpu ? "cpu" : "gpu";
}

KernelShape kernel_shape_for(const DeviceInfo& info) {
  const char* env = std::getenv("VKMNIST_KERNELS");
  const std::string choice = env != nullptr ? env : "";
  if (choice == "cpu") return KernelShape::kCpu;
  if (choice == "gpu") return KernelShape::kGpu;
  if (!choice.empty()) {
    throw Error(fmt::format(
        "VKMNIST_KERNELS={}: choose cpu (kernels shaped for CPU drivers) or gpu (for GPUs), or "
        "unset it to choose by device type",
        choice));
  }
  return info.type == VK_PHYSICAL_DEVICE_TYPE_CPU ? KernelShape::kCpu : KernelShape::kGpu;
}

uint32_t subgroup_size_request_for(const DeviceInfo& info) {
  const char* env = std::getenv("VKMNIST_SUBGROUP_SIZE");
  if (env == nullptr || env[0] == '\0') return 0;
  const std::string text = env;
  uint32_t size = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), size);
  const bool power_of_two =
      ec == std::errc() && end == text.data() + text.size() && size > 0 && (size & (size - 1)) == 0;
  const uint32_t lo = info.subgroup_size_control ? info.min_subgroup_size : info.subgroup_size;
  const uint32_t hi = info.subgroup_size_control ? info.max_subgroup_size : info.subgroup_size;
  if (!power_of_two || size < lo || size > hi) {
    throw Error(fmt::format(
        "VKMNIST_SUBGROUP_SIZE={}: {} offers subgroup sizes {} to {} (powers of two); give one "
        "of them, or unset it",
        text, info.name, lo, hi));
  }
  return size;
}

std::vector<DeviceInfo> enumerate_devices(const Instance& instance) {
  uint32_t count = 0;
  VKM_CHECK(vkEnumeratePhysicalDevices(instance.get(), &count, nullptr));
  std::vector<VkPhysicalDevice> physical(count);
  VKM_CHECK(vkEnumeratePhysicalDevices(instance.get(), &count, physical.data()));
  std::vector<DeviceInfo> devices;
  for (uint32_t i = 0; i < count; ++i) devices.push_back(query(physical[i], i));
  return devices;
}

const DeviceInfo& select_device(const std::vector<DeviceInfo>& devices, std::string_view choice) {
  if (devices.empty()) {
    throw Error(
        "no Vulkan device found: install mesa-vulkan-drivers (lavapipe, runs on the CPU) or your "
        "GPU's Vulkan driver",
        VK_ERROR_INITIALIZATION_FAILED);
  }
  auto list = [&] {
    std::string s;
    for (const auto& d : devices) s += "\n  " + describe(d);
    return s;
  };
  const DeviceInfo* chosen = nullptr;
  if (choice.empty()) {
    for (const auto& d : devices) {
      if (d.usable() && (chosen == nullptr || type_rank(d.type) < type_rank(chosen->type)))
        chosen = &d;
    }
    if (chosen == nullptr) {
      throw Error(
          "no usable Vulkan device (Vulkan 1.2 with subgroup arithmetic in compute):" + list(),
          VK_ERROR_INCOMPATIBLE_DRIVER);
    }
    return *chosen;
  }
  uint32_t index = 0;
  const auto [end, ec] = std::from_chars(choice.data(), choice.data() + choice.size(), index);
  if (ec == std::errc() && end == choice.data() + choice.size()) {
    if (index >= devices.size()) {
      throw DeviceChoiceError(fmt::format(
          "no device {}: {}:{}", index,
          devices.size() == 1 ? std::string("the only one is 0")
                              : fmt::format("the devices are 0 to {}", devices.size() - 1),
          list()));
    }
    chosen = &devices[index];
  } else {
    const std::string needle = lower(choice);
    for (const auto& d : devices) {
      if (lower(d.name).find(needle) != std::string::npos) {
        chosen = &d;
        break;
      }
    }
    if (chosen == nullptr) {
      throw DeviceChoiceError(
          fmt::format("no device name contains '{}' (case aside):{}", choice, list()));
    }
  }
  if (!chosen->usable()) {
    throw Error(
        fmt::format("device {} cannot run vkmnist: {}", chosen->name, chosen->unusable_reason),
        VK_ERROR_INCOMPATIBLE_DRIVER);
  }
  return *chosen;
}

}  // namespace vkm
