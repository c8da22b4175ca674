// CPU reference of GroupNorm (and LayerNorm as one group): values worked out by hand, and the
// backward against finite differences of the forward, in double.
#include <gtest/gtest.h>

#include <cmath>
#include <span>
#include <vector>

#include "nn/reference/groupnorm.hpp"
#include "tests/support/gradcheck.hpp"
#include "tests/support/random.hpp"

namespace vkm::nn::reference {
namespace {

using Vec = std::vector<double>;

Vec random(size_t n, double lo, double hi, uint64_t stream) {
  const auto values = test::uniform(n, static_cast<float>(lo), static_cast<float>(hi), stream);
  return Vec(values.begin(), values.end());
}

Vec forward(const Shape& s, uint32_t groups, const Vec& x, const Vec& gamma, const Vec& beta,
            Vec* mean = nullptr, Vec* invstd = nullptr) {
  Vec y(s.numel()), m(size_t{s.n} * groups), is(m.size());
  groupnorm_forward<double>(s, groups, x, gamma, beta, 1e-5, y, m, is);
  if (mean != nullptr) *mean = m;
  if (invstd != nullptr) *invstd = is;
  return y;
}

double dot(const Vec& a, const Vec& b) {
  double t = 0.0;
  for (size_t i = 0; i < a.size(); ++i) t += a[i] * b[i];
  return t;
}

TEST(GroupNormReference, ForwardByHand) {
  // x: [1, 2, 1, 2] = c0 {1, 2}, c1 {3, 4}.
  const Shape s{1, 2, 1, 2};
  const std::vector<float> x = {1, 2, 3, 4}, gamma = {2, 3}, beta = {0, 1};
  std::vector<float> y(4), mean(2), invstd(2);
  // Two groups of one channel: means 1.5 and 3.5, variance 0.25 each.
  groupnorm_forward<float>(s, 2, x, gamma, beta, 1e-5f, y, mean, invstd);
  const double is2 = 1.0 / std::sqrt(0.25 + 1e-5);
  EXPECT_FLOAT_EQ(mean[0], 1.5f);
  EXPECT_FLOAT_EQ(mean[1], 3.5f);
  EXPECT_FLOAT_EQ(y[0], static_cast<float>(-0.5 * is2 * 2));
  EXPECT_FLOAT_EQ(y[3], static_cast<float>(0.5 * is2 * 3 + 1));
  // LayerNorm (one group): mean 2.5, variance 1.25, per-channel affine still applies.
  std::vector<float> mean1(1), invstd1(1);
  groupnorm_forward<float>(s, 1, x, gamma, beta, 1e-5f, y, mean1, invstd1);
  const double is1 = 1.0 / std::sqrt(1.25 + 1e-5);
  EXPECT_FLOAT_EQ(mean1[0], 2.5f);
  EXPECT_FLOAT_EQ(invstd1[0], static_cast<float>(is1));
  EXPECT_FLOAT_EQ(y[1], static_cast<float>(-0.5 * is1 * 2));
  EXPECT_FLOAT_EQ(y[2], static_cast<float>(0.5 * is1 * 3 + 1));
  // No affine.
  groupnorm_forward<float>(s, 1, x, {}, {}, 1e-5f, y, mean1, invstd1);
  EXPECT_FLOAT_EQ(y[3], static_cast<float>(1.5 * is1));
}

TEST(GroupNormReference, BackwardMatchesFiniteDifferences) {
  struct Case {
    Shape s;
    uint32_t groups;
  };
  for (const Case& c : {Case{{2, 4, 3, 2}, 1}, Case{{2, 4, 3, 2}, 2}, Case{{3, 6, 2, 3}, 3},
                        Case{{2, 3, 1, 1}, 3}}) {
    const Shape& s = c.s;
    const Vec x = random(s.numel(), -0.5, 1.5, 1);
    const Vec w = random(s.numel(), -1, 1, 2);
    const Vec gamma = random(s.c, 0.5, 1.5, 3), beta = random(s.c, -0.5, 0.5, 4);
    Vec mean, invstd;
    forward(s, c.groups, x, gamma, beta, &mean, &invstd);
    Vec dx(s.numel()), dgamma(s.c), dbeta(s.c);
    groupnorm_backward<double>(s, c.groups, x, w, gamma, mean, invstd, dx, dgamma, dbeta);
    const auto what = s.str() + " groups " + std::to_string(c.groups);
    EXPECT_TRUE(test::gradcheck(
        "gn dx " + what, [&](const Vec& v) { return dot(forward(s, c.groups, v, gamma, beta), w); },
        x, dx));
    EXPECT_TRUE(test::gradcheck(
        "gn dgamma " + what, [&](const Vec& v) { return dot(forward(s, c.groups, x, v, beta), w); },
        gamma, dgamma));
    EXPECT_TRUE(test::gradcheck(
        "gn dbeta " + what, [&](const Vec& v) { return dot(forward(s, c.groups, x, gamma, v), w); },
        beta, dbeta));
    Vec dx_plain(s.numel());
    forward(s, c.groups, x, {}, {}, &mean, &invstd);
    groupnorm_backward<double>(s, c.groups, x, w, {}, mean, invstd, dx_plain, {}, {});
    EXPECT_TRUE(test::gradcheck(
        "gn dx no affine " + what,
        [&](const Vec& v) { return dot(forward(s, c.groups, v, {}, {}), w); }, x, dx_plain));
  }
}

TEST(GroupNormReference, GroupsMustDivideChannels) {
  const Shape s{1, 4, 1, 1};
  std::vector<float> x(4), y(4), stats(3);
  EXPECT_THROW(groupnorm_forward<float>(s, 3, x, {}, {}, 1e-5f, y, stats, stats),
               std::invalid_argument);
}

}  // namespace
}  // namespace vkm::nn::reference
