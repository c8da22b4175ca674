// Shared Vulkan context for GPU tests.
#include "tests/support/gpu_env.hpp"

#include <memory>

namespace vkm::test {

Context& gpu() {
  // Validation on regardless of the environment; the pipeline cache goes to a scratch file so
  // tests never depend on (or pollute) the user's cache.
  static Context context(ContextOptions{.device = "", .validation = true});
  return context;
}

KernelCache& kernels() {
  static KernelCache cache(gpu().device, std::filesystem::temp_directory_path() /
                                             "vkmnist-test-pipelines.bin");
  return cache;
}

void GpuTest::SetUp() { messages_before_ = gpu().instance.validation_messages(); }

void GpuTest::TearDown() {
  EXPECT_EQ(gpu().instance.validation_messages(), messages_before_)
      << "the Vulkan validation layer reported problems during this test (see stderr)";
}

}  // namespace vkm::test
