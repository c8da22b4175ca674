// Buffers and transfers: round trips, range checks, memory reuse without new allocations, views
// (aliases) of one buffer and the hazards the graph sees through them.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
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

// A view is the parent's memory: what goes in through one comes out of the other.
TEST_F(MemoryTest, ViewsShareTheParentsMemory) {
  const VkDeviceSize align = device().allocator().buffer_alignment();
  Buffer parent = device().buffer(4 * align, "parent");
  device().fill(parent, 0);
  Buffer view = Buffer::alias(parent, 2 * align, align, "view");
  EXPECT_EQ(view.size(), align);
  EXPECT_EQ(view.hazard_key(), parent.get());
  EXPECT_EQ(parent.hazard_key(), parent.get());
  std::vector<uint32_t> in(align / 4);
  std::iota(in.begin(), in.end(), 1u);
  device().upload(view, std::as_bytes(std::span(in)));
  std::vector<uint32_t> all(parent.size() / 4);
  device().download(parent, std::as_writable_bytes(std::span(all)));
  for (size_t i = 0; i < all.size(); ++i) {
    const bool inside = i >= 2 * align / 4 && i < 3 * align / 4;
    ASSERT_EQ(all[i], inside ? in[i - 2 * align / 4] : 0u) << i;
  }
  EXPECT_THROW(Buffer::alias(parent, align / 2, 4, "misaligned"), Error);
  EXPECT_THROW(Buffer::alias(parent, 3 * align, 2 * align, "past the end"), Error);
  EXPECT_THROW(Buffer::alias(view, 0, 4, "view of a view"), Error);
}

// The graph orders a write through a view against reads of the parent and of sibling views
// (one barrier each time), while reads alone share a level.
TEST_F(MemoryTest, GraphSeesHazardsThroughViews) {
  const VkDeviceSize align = device().allocator().buffer_alignment();
  Buffer parent = device().buffer(2 * align, "parent");
  Buffer a = Buffer::alias(parent, 0, align, "a");
  Buffer b = Buffer::alias(parent, align, align, "b");
  Buffer out = device().buffer(2 * align, "out");
  Buffer other = device().buffer(align, "other");
  Graph g;
  g.fill(a, 1);         // level 0
  g.copy(parent, out);  // reads what a wrote: level 1
  g.fill(other, 2);     // independent: level 0
  g.fill(b, 3);         // WAR with the copy's read of the parent: level 2
  Program program(device(), g);
  EXPECT_EQ(program.levels(), 3u);
  program.run();
  std::vector<uint32_t> got(out.size() / 4);
  device().download(out, std::as_writable_bytes(std::span(got)));
  EXPECT_EQ(got.front(), 1u);  // the fill of a landed before the copy
}

// Hazards are tracked on the parent's bytes: uses of disjoint views of one buffer need no barrier
// between them, while a use of the parent (or of an overlapping range) is ordered after both.
TEST_F(MemoryTest, DisjointViewsOfOneBufferNeedNoBarrier) {
  const VkDeviceSize align = device().allocator().buffer_alignment();
  Buffer parent = device().buffer(3 * align, "parent");
  Buffer a = Buffer::alias(parent, 0, align, "a");
  Buffer b = Buffer::alias(parent, align, align, "b");
  Buffer ab = Buffer::alias(parent, 0, 2 * align, "a and b");
  Buffer out = device().buffer(3 * align, "out");
  Buffer out_b = device().buffer(align, "out b");
  {
    Graph g;
    g.fill(a, 1);         // level 0
    g.fill(b, 2);         // disjoint from a: level 0
    g.copy(b, out_b);     // reads b, wrote at level 0: level 1 (a's fill is no reason)
    g.copy(parent, out);  // reads all: level 1
    Program program(device(), g);
    EXPECT_EQ(program.levels(), 2u);
    EXPECT_EQ(program.barriers(), 1u);
    program.run();
    std::vector<uint32_t> got(out.size() / 4);
    device().download(out, std::as_writable_bytes(std::span(got)));
    EXPECT_EQ(got[0], 1u);
    EXPECT_EQ(got[align / 4], 2u);
  }
  {
    Graph g;
    g.fill(b, 4);      // level 0
    g.fill(ab, 5);     // overlaps b: level 1
    g.copy(a, out_b);  // reads a, under the write of ab: level 2
    Program program(device(), g);
    EXPECT_EQ(program.levels(), 3u);
    program.run();
    std::vector<uint32_t> got(out_b.size() / 4);
    device().download(out_b, std::as_writable_bytes(std::span(got)));
    EXPECT_EQ(got[0], 5u);
  }
}

}  // namespace
}  // namespace vkm::test
