// Shared Vulkan context for GPU tests.
#include "tests/support/gpu_env.hpp"

#include <cstdlib>
#include <memory>
#include <string>

namespace vkm::test {

namespace {

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace

Context& gpu() {
  // Validation on unless VKMNIST_TEST_NO_VALIDATION=1 (the bundle's gpu-check, on a machine where
  // the layer does not load, says so and sets it); the device is the preferred one or
  // VKMNIST_TEST_DEVICE (an index or a name substring, as --device). The pipeline cache goes to a
  // scratch file so tests never depend on (or pollute) the user's cache.
  static Context context(
      ContextOptions{.device = env_or_empty("VKMNIST_TEST_DEVICE"),
                     .validation = env_or_empty("VKMNIST_TEST_NO_VALIDATION") != "1"});
  return context;
}

KernelCache& kernels() {
  static KernelCache cache(gpu().device,
                           std::filesystem::temp_directory_path() / "vkmnist-test-pipelines.bin");
  return cache;
}

void GpuTest::SetUp() {
  messages_before_ = gpu().instance.validation_messages();
}

void GpuTest::TearDown() {
  EXPECT_EQ(gpu().instance.validation_messages(), messages_before_)
      << "the Vulkan validation layer reported problems during this test (see stderr)";
}

}  // namespace vkm::test
