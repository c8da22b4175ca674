// Device choice (no Vulkan needed): default preference, index, name substring, clear errors; the
// kernel shape by device type or VKMNIST_KERNELS.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "engine/device_info.hpp"
#include "engine/error.hpp"

namespace vkm {
namespace {

DeviceInfo fake(uint32_t index, const char* name, VkPhysicalDeviceType type, bool usable = true) {
  DeviceInfo d;
  d.index = index;
  d.name = name;
  d.type = type;
  if (!usable) d.unusable_reason = "Vulkan 1.1.0 < 1.2";
  return d;
}

TEST(DeviceSelection, DefaultPrefersDiscreteThenIntegratedThenVirtualThenCpu) {
  std::vector<DeviceInfo> devices = {
      fake(0, "llvmpipe (LLVM 15)", VK_PHYSICAL_DEVICE_TYPE_CPU),
      fake(1, "Intel UHD 630", VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU),
      fake(2, "NVIDIA H100", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU),
  };
  EXPECT_EQ(select_device(devices, "").index, 2u);
  devices.pop_back();
  EXPECT_EQ(select_device(devices, "").index, 1u);
  devices.pop_back();
  EXPECT_EQ(select_device(devices, "").index, 0u);
}

TEST(DeviceSelection, UnusableDevicesAreNeverTheDefault) {
  std::vector<DeviceInfo> devices = {
      fake(0, "old GPU", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, false),
      fake(1, "llvmpipe", VK_PHYSICAL_DEVICE_TYPE_CPU),
  };
  EXPECT_EQ(select_device(devices, "").index, 1u);
  EXPECT_THROW(select_device(devices, "0"), Error);
}

TEST(DeviceSelection, ByIndexOrCaseInsensitiveNameSubstring) {
  std::vector<DeviceInfo> devices = {
      fake(0, "llvmpipe (LLVM 15)", VK_PHYSICAL_DEVICE_TYPE_CPU),
      fake(1, "AMD Radeon RX 7900", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU),
  };
  EXPECT_EQ(select_device(devices, "0").index, 0u);
  EXPECT_EQ(select_device(devices, "radeon").index, 1u);
  EXPECT_EQ(select_device(devices, "LLVMPIPE").index, 0u);
}

TEST(DeviceSelection, NoMatchOrNoDeviceSaysWhatToDo) {
  std::vector<DeviceInfo> devices = {fake(0, "llvmpipe", VK_PHYSICAL_DEVICE_TYPE_CPU)};
  try {
    select_device(devices, "7");
    FAIL() << "index out of range accepted";
  } catch (const DeviceChoiceError& e) {  // the app adds which option the choice came from
    EXPECT_EQ(std::string(e.what()).rfind("no device 7: the only one is 0:", 0), 0u) << e.what();
    EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();
  }
  EXPECT_THROW(select_device(devices, "nvidia"), DeviceChoiceError);
  try {
    select_device({}, "");
    FAIL() << "empty device list accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("install mesa-vulkan-drivers"), std::string::npos);
  }
}

// VKMNIST_KERNELS set for one scope, restored after.
class KernelsVariable {
 public:
  explicit KernelsVariable(const char* value) {
    if (const char* old = std::getenv("VKMNIST_KERNELS")) saved_ = old;
    if (value != nullptr) {
      setenv("VKMNIST_KERNELS", value, 1);
    } else {
      unsetenv("VKMNIST_KERNELS");
    }
  }
  ~KernelsVariable() {
    if (saved_) {
      setenv("VKMNIST_KERNELS", saved_->c_str(), 1);
    } else {
      unsetenv("VKMNIST_KERNELS");
    }
  }

 private:
  std::optional<std::string> saved_;
};

TEST(KernelShape, ByDeviceTypeUnlessVkmnistKernelsSays) {
  const DeviceInfo cpu = fake(0, "llvmpipe", VK_PHYSICAL_DEVICE_TYPE_CPU);
  const DeviceInfo gpu = fake(1, "NVIDIA H100", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU);
  const DeviceInfo igpu = fake(2, "Intel UHD 630", VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU);
  {
    const KernelsVariable unset(nullptr);
    EXPECT_EQ(kernel_shape_for(cpu), KernelShape::kCpu);
    EXPECT_EQ(kernel_shape_for(gpu), KernelShape::kGpu);
    EXPECT_EQ(kernel_shape_for(igpu), KernelShape::kGpu);
  }
  {
    const KernelsVariable forced("gpu");
    EXPECT_EQ(kernel_shape_for(cpu), KernelShape::kGpu);
  }
  {
    const KernelsVariable forced("cpu");
    EXPECT_EQ(kernel_shape_for(gpu), KernelShape::kCpu);
  }
  {
    const KernelsVariable bad("GPU ");
    try {
      kernel_shape_for(gpu);
      FAIL() << "VKMNIST_KERNELS='GPU ' accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("VKMNIST_KERNELS=GPU : choose cpu"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_STREQ(kernel_shape_name(KernelShape::kCpu), "cpu");
  EXPECT_STREQ(kernel_shape_name(KernelShape::kGpu), "gpu");
}

}  // namespace
}  // namespace vkm
