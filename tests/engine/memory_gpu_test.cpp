// Buffers and transfers: round trips, range checks, memory reuse without new allocations.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "engine/error.hpp"
#include "tests/support/gpu_env.hpp"

namespace vkm::test {
namespace {

using MemoryTest = GpuTest;

TEST_F(MemoryTest, UploadDownloadRoundTripAtAnOffset) {
  Buffer b = device().buffer(4096, "roundtrip");
  std::vector<uint32_t> in(100);
  std::iota(in.begin(), in.end(), 7u);
  device().fill(b, 0xDEADBEEF);
  device().upload(b, std::as_bytes(std::span(in)), 256);
  std::vector<uint32_t> out(110);
  device().download(b, std::as_writable_bytes(std::span(out)), 216);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(out[i], 0xDEADBEEFu);
  for (size_t i = 0; i < 100; ++i) ASSERT_EQ(out[10 + i], in[i]);
}

TEST_F(MemoryTest, OutOfRangeTransfersAreErrors) {
  Buffer b = device().buffer(64, "small");
  std::vector<std::byte> big(65);
  EXPECT_THROW(device().upload(b, big), Error);
  EXPECT_THROW(device().download(b, std::span(big).first(8), 60), Error);
  EXPECT_THROW(device().buffer(0, "empty"), Error);
}

TEST_F(MemoryTest, FreedRangesAreReusedWithoutNewBlocks) {
  auto& allocator = device().allocator();
  { Buffer warm = device().buffer(1 << 20, "warm"); }
  const size_t blocks = allocator.block_count();
  for (int i = 0; i < 200; ++i) {
    Buffer a = device().buffer(1 << 20, "a");
    Buffer b = device().buffer(3 << 18, "b");
    Buffer moved = std::move(a);
    EXPECT_EQ(a.get(), VK_NULL_HANDLE);
  }
  EXPECT_EQ(allocator.block_count(), blocks);
}

TEST_F(MemoryTest, SmallBuffersShareOneBlock) {
  auto& allocator = device().allocator();
  std::vector<Buffer> buffers;
  const size_t blocks = allocator.block_count();
  for (int i = 0; i < 100; ++i) buffers.push_back(device().buffer(1000, "many"));
  EXPECT_LE(allocator.block_count(), blocks + 1);
}

}  // namespace
}  // namespace vkm::test
