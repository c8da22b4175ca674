// main() of the GPU test binary: prints which device and subgroup configuration the suite runs
// on, and fails the process if any validation message was seen at all (even outside a test).
#include <gtest/gtest.h>

#include <cstdio>

#include "engine/device_info.hpp"
#include "tests/support/gpu_env.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto& context = vkm::test::gpu();
  std::printf("GPU tests on %s (subgroup ops %s)\n", vkm::describe(context.device.info()).c_str(),
              context.device.subgroup_ops() ? "on" : "off: shared memory only");
  const int status = RUN_ALL_TESTS();
  const auto messages = context.instance.validation_messages();
  if (messages != 0) {
    std::fprintf(stderr, "FAILED: %llu Vulkan validation messages\n",
                 static_cast<unsigned long long>(messages));
    return 1;
  }
  return status;
}
