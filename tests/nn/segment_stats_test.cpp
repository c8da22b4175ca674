// CPU reference of the normalization statistics, against values worked out by hand.
#include <gtest/gtest.h>

#include <vector>

#include "nn/reference/segment_stats.hpp"

namespace vkm::nn::reference {
namespace {

// x: [2, 2, 1, 2] = n0: c0 {1, 2}, c1 {3, 4}; n1: c0 {5, 6}, c1 {7, 8}
const std::vector<float> kX = {1, 2, 3, 4, 5, 6, 7, 8};
const Shape kShape{2, 2, 1, 2};

TEST(SegmentStatsReference, PerChannelSumsOverBatchAndPlane) {
  const auto s = channel_sum_sumsq(kX, kShape);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0].sum, 1 + 2 + 5 + 6);
  EXPECT_DOUBLE_EQ(s[0].sum_sq, 1 + 4 + 25 + 36);
  EXPECT_DOUBLE_EQ(s[1].sum, 3 + 4 + 7 + 8);
  EXPECT_DOUBLE_EQ(s[1].sum_sq, 9 + 16 + 49 + 64);
}

TEST(SegmentStatsReference, PerSampleGroup) {
  const auto one = group_sum_sumsq(kX, kShape, 1);  // LayerNorm: per sample
  ASSERT_EQ(one.size(), 2u);
  EXPECT_DOUBLE_EQ(one[0].sum, 10);
  EXPECT_DOUBLE_EQ(one[1].sum, 26);
  const auto two = group_sum_sumsq(kX, kShape, 2);  // one channel per group
  ASSERT_EQ(two.size(), 4u);
  EXPECT_DOUBLE_EQ(two[3].sum, 15);
  EXPECT_DOUBLE_EQ(two[3].sum_sq, 113);
  EXPECT_THROW(group_sum_sumsq(kX, kShape, 3), std::invalid_argument);
}

}  // namespace
}  // namespace vkm::nn::reference
