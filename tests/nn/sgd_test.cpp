// CPU reference of the SGD update: PyTorch's rule worked by hand, sign(0) = 0 for L1, momentum
// accumulating over steps.
#include <gtest/gtest.h>

#include <vector>

#include "nn/reference/sgd.hpp"

namespace vkm::nn::reference {
namespace {

TEST(SgdReference, OneStepByHand) {
  const SgdHyper h{.lr = 0.1, .momentum = 0.9, .l2 = 0.01, .l1 = 0.001};
  std::vector<double> w = {2.0, -1.0, 0.0};
  const std::vector<double> grad = {0.5, 0.5, 0.5};
  std::vector<double> v = {0.0, 1.0, 0.0};
  sgd_update<double>(h, w, grad, v);
  // g = grad + l2 w + l1 sign(w); v = 0.9 v + g; w -= 0.1 v
  const double g0 = 0.5 + 0.02 + 0.001, g1 = 0.5 - 0.01 - 0.001, g2 = 0.5;  // sign(0) = 0
  EXPECT_DOUBLE_EQ(v[0], g0);
  EXPECT_DOUBLE_EQ(v[1], 0.9 + g1);
  EXPECT_DOUBLE_EQ(v[2], g2);
  EXPECT_DOUBLE_EQ(w[0], 2.0 - 0.1 * g0);
  EXPECT_DOUBLE_EQ(w[1], -1.0 - 0.1 * (0.9 + g1));
  EXPECT_DOUBLE_EQ(w[2], -0.1 * g2);
}

TEST(SgdReference, ZeroWeightWithZeroGradientStaysZero) {
  // Neither L2 nor L1 moves an exact zero: sign(0) = 0.
  const SgdHyper h{.lr = 0.5, .momentum = 0.9, .l2 = 1e-4, .l1 = 1e-3};
  std::vector<float> w = {0.0f}, v = {0.0f};
  for (int step = 0; step < 3; ++step) sgd_update<float>(h, w, std::vector<float>{0.0f}, v);
  EXPECT_EQ(w[0], 0.0f);
  EXPECT_EQ(v[0], 0.0f);
}

TEST(SgdReference, MomentumAccumulatesAGeometricSeries) {
  // Constant gradient 1, no decay: v_k = 1 + m + ... + m^(k-1); w falls by lr * v_k each step.
  const SgdHyper h{.lr = 0.01, .momentum = 0.5, .l2 = 0.0, .l1 = 0.0};
  std::vector<double> w = {1.0}, v = {0.0};
  double expected_w = 1.0, expected_v = 0.0;
  for (int step = 0; step < 5; ++step) {
    sgd_update<double>(h, w, std::vector<double>{1.0}, v);
    expected_v = 0.5 * expected_v + 1.0;
    expected_w -= 0.01 * expected_v;
  }
  EXPECT_DOUBLE_EQ(v[0], 1.0 + 0.5 + 0.25 + 0.125 + 0.0625);
  EXPECT_DOUBLE_EQ(w[0], expected_w);
}

TEST(SgdReference, RejectsMismatchedSizes) {
  std::vector<float> w(3), v(2);
  EXPECT_THROW(sgd_update<float>({0.1, 0.9, 0, 0}, w, std::vector<float>(3), v),
               std::invalid_argument);
}

}  // namespace
}  // namespace vkm::nn::reference
