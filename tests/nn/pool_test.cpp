// CPU reference of max and global average pooling: hand-worked values, PyTorch's floor for odd
// sizes, the first-maximum rule for ties, and every backward against finite differences.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "nn/reference/pool.hpp"
#include "tests/support/gradcheck.hpp"

namespace vkm::nn::reference {
namespace {

// Distinct values (no ties within a window, so the max is differentiable) in random order.
std::vector<double> distinct(size_t n, uint32_t seed) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = 0.01 * static_cast<double>(i) - 1.0;
  std::shuffle(v.begin(), v.end(), std::mt19937(seed));
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

TEST(PoolReference, MaxPoolPicksEachWindowsMaximum) {
  // [1, 1, 4, 4]
  const std::vector<float> x = {1,  2,  5, 0,  //
                                3,  4,  6, 7,  //
                                -1, -2, 0, 0,  //
                                -3, -4, 0, 9};
  std::vector<float> y(4);
  maxpool2d_forward<float>({1, 1, 4, 4}, x, y);
  EXPECT_EQ(y, (std::vector<float>{4, 7, -1, 9}));
}

TEST(PoolReference, MaxPoolDropsTheOddLastRowAndColumn) {
  // [1, 1, 3, 5] -> [1, 1, 1, 2]; the last row and column (100s) are never seen.
  const std::vector<float> x = {1,   2,   3,   4,   100,  //
                                5,   6,   7,   8,   100,  //
                                100, 100, 100, 100, 100};
  std::vector<float> y(2);
  maxpool2d_forward<float>({1, 1, 3, 5}, x, y);
  EXPECT_EQ(y, (std::vector<float>{6, 8}));
  std::vector<float> dx(x.size(), -1.0f);
  const std::vector<float> dy = {10, 20};
  maxpool2d_backward<float>({1, 1, 3, 5}, x, dy, dx);
  EXPECT_EQ(dx, (std::vector<float>{0, 0, 0, 0, 0,    //
                                    0, 10, 0, 20, 0,  //
                                    0, 0, 0, 0, 0}));
}

TEST(PoolReference, MaxPoolBackwardGivesTiesToTheFirstMaximum) {
  // Two windows: all equal (after a ReLU, all zero), and a tie between the 2nd and 4th.
  const std::vector<float> x = {0, 0, 1, 3,  //
                                0, 0, 2, 3};
  const std::vector<float> dy = {5, 6};
  std::vector<float> dx(8);
  maxpool2d_backward<float>({1, 1, 2, 4}, x, dy, dx);
  EXPECT_EQ(dx, (std::vector<float>{5, 0, 0, 6,  //
                                    0, 0, 0, 0}));
}

TEST(PoolReference, MaxPoolBackwardMatchesFiniteDifferences) {
  const Shape s{2, 3, 5, 6};  // odd height
  const Shape out{2, 3, 2, 3};
  const auto x = distinct(s.numel(), 1);
  const auto dy = distinct(out.numel(), 2);
  std::vector<double> dx(s.numel());
  maxpool2d_backward<double>(s, x, dy, dx);
  auto loss = [&](const std::vector<double>& at) {
    std::vector<double> y(out.numel());
    maxpool2d_forward<double>(s, at, y);
    return dot(y, dy);
  };
  EXPECT_TRUE(vkm::test::gradcheck("maxpool2d_backward", loss, x, dx, 1e-6, 1e-6, 1000));
}

TEST(PoolReference, AvgPoolIsThePlaneMean) {
  // [1, 2, 2, 2]
  const std::vector<float> x = {1, 2, 3, 4, -1, -1, -1, 5};
  std::vector<float> y(2);
  avgpool_global_forward<float>({1, 2, 2, 2}, x, y);
  EXPECT_EQ(y, (std::vector<float>{2.5f, 0.5f}));
  std::vector<float> dx(8);
  avgpool_global_backward<float>({1, 2, 2, 2}, std::vector<float>{4, -8}, dx);
  EXPECT_EQ(dx, (std::vector<float>{1, 1, 1, 1, -2, -2, -2, -2}));
}

TEST(PoolReference, AvgPoolBackwardMatchesFiniteDifferences) {
  const Shape s{3, 4, 5, 5};
  const auto x = distinct(s.numel(), 3);
  const auto dy = distinct(size_t{s.n} * s.c, 4);
  std::vector<double> dx(s.numel());
  avgpool_global_backward<double>(s, dy, dx);
  auto loss = [&](const std::vector<double>& at) {
    std::vector<double> y(dy.size());
    avgpool_global_forward<double>(s, at, y);
    return dot(y, dy);
  };
  EXPECT_TRUE(vkm::test::gradcheck("avgpool_global_backward", loss, x, dx));
}

TEST(PoolReference, RejectsMismatchedSizes) {
  std::vector<float> x(16), y(3);
  EXPECT_THROW(maxpool2d_forward<float>({1, 1, 4, 4}, x, y), std::invalid_argument);
  EXPECT_THROW(avgpool_global_forward<float>({1, 1, 4, 4}, x, y), std::invalid_argument);
}

}  // namespace
}  // namespace vkm::nn::reference
