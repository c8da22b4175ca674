// The GPU test environment: one Context (validation layer always on) and one KernelCache per
// test process, and GpuTest, the fixture every *_gpu_test uses: it fails the test if the
// validation layer said anything during it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>

#include "engine/device.hpp"
#include "engine/kernel.hpp"

namespace vkm::test {

Context& gpu();
KernelCache& kernels();

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  Device& device() { return gpu().device; }

 private:
  uint64_t messages_before_ = 0;
};

}  // namespace vkm::test
