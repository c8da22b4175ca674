// SegmentStats on the device vs the CPU reference: awkward shapes, per channel and per group,
// poisoned outputs, bitwise determinism.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/ops/segment_stats.hpp"
#include "nn/reference/segment_stats.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/random.hpp"

namespace vkm::test {
namespace {

struct Case {
  nn::Shape shape;
  nn::SegmentStats::Over over;
  uint32_t groups;
};

std::string name(const Case& c) {
  return fmt::format("{} {} groups={}", c.over == nn::SegmentStats::Over::kChannel ? "channel" : "group",
                     c.shape.str(), c.groups);
}

class SegmentStatsTest : public GpuTest, public ::testing::WithParamInterface<Case> {
 protected:
  // Runs the op; returns (sum, sumsq) interleaved as the device wrote them.
  std::vector<float> run(const nn::SegmentStats& op, const nn::Tensor& x) {
    device().fill(op.sums(), 0x7FC00000u);  // NaN: an unwritten element fails the comparison
    Graph g;
    op.record(g, x);
    Program(device(), g).run();
    std::vector<float> out(op.segments() * 2);
    device().download(op.sums(), std::as_writable_bytes(std::span(out)));
    return out;
  }
};

TEST_P(SegmentStatsTest, MatchesReferenceAndIsBitwiseDeterministic) {
  const Case& c = GetParam();
  // Offset values: the mean is not zero, as after a ReLU.
  const auto values = uniform(c.shape.numel(), -0.5f, 1.5f, c.shape.numel() + c.groups);
  nn::Tensor x(device(), c.shape, "x");
  x.upload(values);
  nn::SegmentStats op(device(), kernels(), c.shape, c.over, c.groups);

  const auto ref = c.over == nn::SegmentStats::Over::kChannel
                       ? nn::reference::channel_sum_sumsq(values, c.shape)
                       : nn::reference::group_sum_sumsq(values, c.shape, c.groups);
  ASSERT_EQ(ref.size(), op.segments());
  std::vector<double> ref_sum, ref_sq;
  for (const auto& r : ref) {
    ref_sum.push_back(r.sum);
    ref_sq.push_back(r.sum_sq);
  }
  const auto got = run(op, x);
  std::vector<float> got_sum, got_sq;
  for (size_t i = 0; i < got.size(); i += 2) {
    got_sum.push_back(got[i]);
    got_sq.push_back(got[i + 1]);
  }
  EXPECT_TRUE(close("sum " + name(c), got_sum, ref_sum, 1e-5));
  EXPECT_TRUE(close("sum of squares " + name(c), got_sq, ref_sq, 1e-5));
  EXPECT_TRUE(bitwise_equal("rerun " + name(c), got, run(op, x)));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, SegmentStatsTest,
    ::testing::Values(
        Case{{1, 1, 13, 13}, nn::SegmentStats::Over::kChannel, 1},
        Case{{3, 3, 27, 27}, nn::SegmentStats::Over::kChannel, 1},
        Case{{128, 8, 26, 26}, nn::SegmentStats::Over::kChannel, 1},   // the net's first layer
        Case{{128, 32, 5, 5}, nn::SegmentStats::Over::kChannel, 1},
        Case{{3, 8, 13, 13}, nn::SegmentStats::Over::kGroup, 1},       // LayerNorm
        Case{{1, 32, 27, 27}, nn::SegmentStats::Over::kGroup, 8},
        Case{{128, 16, 9, 9}, nn::SegmentStats::Over::kGroup, 4},
        Case{{3, 8, 26, 26}, nn::SegmentStats::Over::kGroup, 2},
        Case{{2, 1, 1, 1}, nn::SegmentStats::Over::kChannel, 1},      // one element per segment
        Case{{5, 3, 1, 37}, nn::SegmentStats::Over::kChannel, 1}),     // last workgroup partial
    [](const auto& param) { return fmt::format("case{}", param.index); });

TEST(SegmentStatsArguments, GroupsMustDivideChannels) {
  EXPECT_THROW(nn::SegmentStats(gpu().device, kernels(), {2, 8, 4, 4}, nn::SegmentStats::Over::kGroup, 3),
               Error);
}

}  // namespace
}  // namespace vkm::test
