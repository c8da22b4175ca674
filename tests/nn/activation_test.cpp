// CPU reference of ReLU and dropout: hand-worked values, the dropout mask's properties (shared by
// forward and backward, kept fraction, dependence on step and salt, p = 0), and every backward
// against finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "nn/reference/activation.hpp"
#include "nn/reference/rng.hpp"
#include "tests/support/gradcheck.hpp"

namespace vkm::nn::reference {
namespace {

// Values spread over [-1, 1), none within 1e-3 of zero (ReLU's kink).
std::vector<double> spread(size_t n) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) {
    const double u = rng_uniform(7, 0, static_cast<uint32_t>(i)) * 2.0 - 1.0;
    v[i] = std::abs(u) < 1e-3 ? 0.5 : u;
  }
  return v;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

TEST(ActivationReference, ReluForwardAndBackward) {
  const std::vector<float> x = {-2, -0.5f, 0, 0.5f, 3};
  std::vector<float> y(5), dx(5);
  relu_forward<float>(x, y);
  EXPECT_EQ(y, (std::vector<float>{0, 0, 0, 0.5f, 3}));
  relu_backward<float>(y, std::vector<float>{1, 2, 3, 4, 5}, dx);
  EXPECT_EQ(dx, (std::vector<float>{0, 0, 0, 4, 5}));
}

TEST(ActivationReference, ReluBackwardMatchesFiniteDifferences) {
  const auto x = spread(500);
  const auto dy = spread(1000);
  std::vector<double> y(x.size()), dx(x.size());
  relu_forward<double>(x, y);
  relu_backward<double>(y, std::span(dy).first(x.size()), dx);
  auto loss = [&](const std::vector<double>& at) {
    std::vector<double> out(at.size());
    relu_forward<double>(at, out);
    return dot(out, dy);
  };
  EXPECT_TRUE(vkm::test::gradcheck("relu_backward", loss, x, dx));
}

TEST(ActivationReference, DropoutKeepsByTheCounterBasedRng) {
  const float p = 0.25f;
  for (uint32_t i = 0; i < 100; ++i) {
    EXPECT_EQ(dropout_keep(11, 3, 42, i, p), rng_uniform(11 ^ 3, 42, i) >= p);
  }
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> y(8);
  dropout_forward<float>(p, 11, 3, 42, x, y);
  for (uint32_t i = 0; i < 8; ++i) {
    EXPECT_FLOAT_EQ(y[i], dropout_keep(11, 3, 42, i, p) ? x[i] / 0.75f : 0.0f) << i;
  }
}

TEST(ActivationReference, DropoutMaskIsSharedByForwardAndBackward) {
  const size_t n = 4096;
  const std::vector<float> ones(n, 1.0f);
  std::vector<float> y(n), dx(n);
  dropout_forward<float>(0.3f, 5, 2, 17, ones, y);
  dropout_backward<float>(0.3f, 5, 2, 17, ones, dx);
  EXPECT_EQ(y, dx);
}

TEST(ActivationReference, DropoutKeepsAboutOneMinusP) {
  const uint32_t n = 200000;
  for (float p : {0.05f, 0.1f, 0.5f}) {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; ++i) kept += dropout_keep(1234, 5, 9, i, p) ? 1 : 0;
    const double fraction = static_cast<double>(kept) / n;
    // Binomial standard deviation is at most 0.0012 here; allow five of them.
    EXPECT_NEAR(fraction, 1.0 - p, 0.006) << "p = " << p;
  }
}

TEST(ActivationReference, DropoutMasksDifferAcrossStepsAndSalts) {
  const uint32_t n = 1000;
  auto mask = [&](uint32_t salt, uint32_t step) {
    std::vector<bool> m(n);
    for (uint32_t i = 0; i < n; ++i) m[i] = dropout_keep(99, salt, step, i, 0.5f);
    return m;
  };
  const auto base = mask(1, 10);
  EXPECT_EQ(base, mask(1, 10));  // a pure function
  EXPECT_NE(base, mask(1, 11));
  EXPECT_NE(base, mask(2, 10));
}

TEST(ActivationReference, DropoutWithZeroProbabilityIsTheIdentity) {
  const auto x = spread(1000);
  std::vector<double> y(x.size());
  dropout_forward<double>(0.0f, 1, 2, 3, x, y);
  EXPECT_EQ(x, y);
}

TEST(ActivationReference, DropoutBackwardMatchesFiniteDifferences) {
  const auto x = spread(600);
  const auto dy = spread(1200);
  const std::vector<double> upstream(dy.begin() + 600, dy.end());
  std::vector<double> dx(x.size());
  dropout_backward<double>(0.4f, 8, 1, 77, upstream, dx);
  auto loss = [&](const std::vector<double>& at) {
    std::vector<double> out(at.size());
    dropout_forward<double>(0.4f, 8, 1, 77, at, out);
    return dot(out, upstream);
  };
  EXPECT_TRUE(vkm::test::gradcheck("dropout_backward", loss, x, dx));
}

TEST(ActivationReference, DropoutRejectsProbabilitiesOutsideZeroToOne) {
  std::vector<float> x(4), y(4);
  EXPECT_THROW(dropout_forward<float>(1.0f, 0, 0, 0, x, y), std::invalid_argument);
  EXPECT_THROW(dropout_forward<float>(-0.1f, 0, 0, 0, x, y), std::invalid_argument);
}

}  // namespace
}  // namespace vkm::nn::reference
