// CPU reference of BatchNorm2d: values worked out by hand, and the backward against finite
// differences of the training forward, in double.
#include <gtest/gtest.h>

#include <cmath>
#include <span>
#include <vector>

#include "nn/reference/batchnorm.hpp"
#include "tests/support/gradcheck.hpp"
#include "tests/support/random.hpp"

namespace vkm::nn::reference {
namespace {

using Vec = std::vector<double>;

Vec random(size_t n, double lo, double hi, uint64_t stream) {
  const auto values = test::uniform(n, static_cast<float>(lo), static_cast<float>(hi), stream);
  return Vec(values.begin(), values.end());
}

// Training forward with throwaway running statistics; returns y and fills the saved stats.
Vec forward(const Shape& s, const Vec& x, const Vec& gamma, const Vec& beta, Vec* mean = nullptr,
            Vec* invstd = nullptr) {
  Vec y(s.numel()), rm(s.c, 0.0), rv(s.c, 1.0), m(s.c), is(s.c);
  batchnorm_forward_train<double>(s, x, gamma, beta, 1e-5, 0.1, y, rm, rv, m, is);
  if (mean != nullptr) *mean = m;
  if (invstd != nullptr) *invstd = is;
  return y;
}

double dot(const Vec& a, const Vec& b) {
  double t = 0.0;
  for (size_t i = 0; i < a.size(); ++i) t += a[i] * b[i];
  return t;
}

TEST(BatchNormReference, TrainingForwardByHand) {
  // x: [2, 1, 1, 2] = {1, 2, 3, 4}: mean 2.5, biased var 1.25, unbiased var 5/3.
  const Shape s{2, 1, 1, 2};
  const std::vector<float> x = {1, 2, 3, 4}, gamma = {2}, beta = {0.5f};
  std::vector<float> y(4), rm = {0}, rv = {1}, mean(1), invstd(1);
  batchnorm_forward_train<float>(s, x, gamma, beta, 1e-5f, 0.1f, y, rm, rv, mean, invstd);
  const double is = 1.0 / std::sqrt(1.25 + 1e-5);
  EXPECT_FLOAT_EQ(mean[0], 2.5f);
  EXPECT_FLOAT_EQ(invstd[0], static_cast<float>(is));
  EXPECT_FLOAT_EQ(y[0], static_cast<float>(-1.5 * is * 2 + 0.5));
  EXPECT_FLOAT_EQ(y[3], static_cast<float>(1.5 * is * 2 + 0.5));
  EXPECT_FLOAT_EQ(rm[0], 0.25f);                                      // 0.9 * 0 + 0.1 * 2.5
  EXPECT_FLOAT_EQ(rv[0], static_cast<float>(0.9 + 0.1 * 5.0 / 3.0));  // unbiased into running
}

TEST(BatchNormReference, EvalForwardByHand) {
  const Shape s{1, 2, 1, 1};
  const std::vector<float> x = {3, -1}, mean = {1, 0}, var = {4, 0.25f - 1e-5f};
  std::vector<float> y(2);
  batchnorm_forward_eval<float>(s, x, {}, {}, mean, var, 1e-5f, y);  // no affine
  EXPECT_NEAR(y[0], 2 / std::sqrt(4 + 1e-5), 1e-6);
  EXPECT_NEAR(y[1], -2.0, 1e-5);
}

TEST(BatchNormReference, SingleValuePerChannelIsFinite) {
  // Batch 1, 1x1: zero variance; y = beta, running variance decays towards 0, nothing NaN.
  const Shape s{1, 3, 1, 1};
  const std::vector<float> x = {5, -2, 0}, gamma = {1, 2, 3}, beta = {0.5f, -1, 2};
  std::vector<float> y(3), rm(3, 0), rv(3, 1), mean(3), invstd(3);
  batchnorm_forward_train<float>(s, x, gamma, beta, 1e-5f, 0.1f, y, rm, rv, mean, invstd);
  for (uint32_t c = 0; c < 3; ++c) {
    EXPECT_FLOAT_EQ(y[c], beta[c]);
    EXPECT_FLOAT_EQ(rm[c], 0.1f * x[c]);
    EXPECT_FLOAT_EQ(rv[c], 0.9f);
    EXPECT_TRUE(std::isfinite(invstd[c]));
  }
}

TEST(BatchNormReference, BackwardMatchesFiniteDifferences) {
  for (const Shape s : {Shape{3, 2, 3, 4}, Shape{1, 3, 2, 5}, Shape{4, 1, 1, 1}}) {
    const Vec x = random(s.numel(), -0.5, 1.5, 1);
    const Vec w = random(s.numel(), -1, 1, 2);  // upstream gradient: loss = sum(y * w)
    const Vec gamma = random(s.c, 0.5, 1.5, 3), beta = random(s.c, -0.5, 0.5, 4);
    Vec mean, invstd;
    forward(s, x, gamma, beta, &mean, &invstd);
    Vec dx(s.numel()), dgamma(s.c), dbeta(s.c);
    batchnorm_backward<double>(s, x, w, gamma, mean, invstd, dx, dgamma, dbeta);
    const auto what = s.str();
    EXPECT_TRUE(test::gradcheck(
        "bn dx " + what, [&](const Vec& v) { return dot(forward(s, v, gamma, beta), w); }, x, dx));
    EXPECT_TRUE(test::gradcheck(
        "bn dgamma " + what, [&](const Vec& v) { return dot(forward(s, x, v, beta), w); }, gamma,
        dgamma));
    EXPECT_TRUE(test::gradcheck(
        "bn dbeta " + what, [&](const Vec& v) { return dot(forward(s, x, gamma, v), w); }, beta,
        dbeta));
  }
}

TEST(BatchNormReference, BackwardWithoutAffine) {
  const Shape s{2, 3, 3, 3};
  const Vec x = random(s.numel(), 0, 2, 5), w = random(s.numel(), -1, 1, 6);
  Vec mean, invstd;
  forward(s, x, {}, {}, &mean, &invstd);
  Vec dx(s.numel());
  batchnorm_backward<double>(s, x, w, {}, mean, invstd, dx, {}, {});
  EXPECT_TRUE(test::gradcheck(
      "bn dx no affine", [&](const Vec& v) { return dot(forward(s, v, {}, {}), w); }, x, dx));
}

TEST(BatchNormReference, RejectsMismatchedSizes) {
  const Shape s{1, 2, 1, 1};
  std::vector<float> x(2), y(2), stats(2), one(1);
  EXPECT_THROW(
      batchnorm_forward_train<float>(s, x, one, one, 1e-5f, 0.1f, y, stats, stats, stats, stats),
      std::invalid_argument);
}

}  // namespace
}  // namespace vkm::nn::reference
