// CPU reference of conv2d: forward against values worked out by hand, both backward ops against
// finite differences of the forward in double.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <vector>

#include "nn/reference/conv2d.hpp"
#include "tests/support/case_name.hpp"
#include "tests/support/gradcheck.hpp"
#include "tests/support/random.hpp"

namespace vkm::nn::reference {

void PrintTo(const Conv2dGeometry& g, std::ostream* os) {
  *os << fmt::format("n{} c{} h{} w{} o{} k{} pad{}", g.n, g.c_in, g.h, g.w, g.c_out, g.k, g.pad);
}

namespace {

template <typename T>
std::vector<T> forward(const Conv2dGeometry& g, const std::vector<T>& x, const std::vector<T>& w) {
  std::vector<T> y(size_t{g.n} * g.c_out * g.h_out() * g.w_out());
  conv2d_forward<T>(g, x, w, y);
  return y;
}

TEST(Conv2dReference, ForwardByHand) {
  // x [1, 1, 3, 3] = 1..9, weight [1, 1, 2, 2] = {1, 2; 3, 4}: each output is the 2x2 window
  // times the kernel, e.g. y[0, 0] = 1*1 + 2*2 + 4*3 + 5*4 = 37.
  const Conv2dGeometry g{1, 1, 3, 3, 1, 2, 0};
  EXPECT_EQ(forward<float>(g, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4}),
            (std::vector<float>{37, 47, 67, 77}));
}

TEST(Conv2dReference, ForwardPaddingShiftsTheImage) {
  // pad 1, k 3, the only non-zero tap at (0, 0): y[i, j] = x[i - 1, j - 1], zero at the border.
  const Conv2dGeometry g{1, 1, 2, 2, 1, 3, 1};
  const std::vector<float> tap00 = {1, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(forward<float>(g, {1, 2, 3, 4}, tap00), (std::vector<float>{0, 0, 0, 1}));
  // The centre tap is the identity; all ones sums the 3x3 neighbourhood (here: everything).
  const std::vector<float> centre = {0, 0, 0, 0, 1, 0, 0, 0, 0};
  EXPECT_EQ(forward<float>(g, {1, 2, 3, 4}, centre), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(forward<float>(g, {1, 2, 3, 4}, std::vector<float>(9, 1.0f)),
            (std::vector<float>{10, 10, 10, 10}));
}

TEST(Conv2dReference, ForwardMixesChannelsAndKeepsSamplesApart) {
  // 1x1 kernel over [2, 2, 1, 1]: y[n, o] = sum_c weight[o, c] * x[n, c]; weight = {1, 2; -1, 3}.
  const Conv2dGeometry g{2, 2, 1, 1, 2, 1, 0};
  EXPECT_EQ(forward<float>(g, {1, 10, 2, 20}, {1, 2, -1, 3}), (std::vector<float>{21, 29, 42, 58}));
}

TEST(Conv2dReference, BackwardByHand) {
  // The 2x2 example above with dy = 1 everywhere: dweight[a, b] sums the window x[a.., b..],
  // dx[i, j] sums the taps that read x[i, j].
  const Conv2dGeometry g{1, 1, 3, 3, 1, 2, 0};
  std::vector<float> dw(4), dx(9);
  conv2d_backward_weight<float>(g, std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9},
                                std::vector<float>(4, 1.0f), dw);
  EXPECT_EQ(dw, (std::vector<float>{12, 16, 24, 28}));
  conv2d_backward_input<float>(g, std::vector<float>(4, 1.0f), std::vector<float>{1, 2, 3, 4}, dx);
  EXPECT_EQ(dx, (std::vector<float>{1, 3, 2, 4, 10, 6, 3, 7, 4}));
}

TEST(Conv2dReference, RejectsMismatchedSizes) {
  const Conv2dGeometry g{1, 1, 3, 3, 1, 2, 0};
  std::vector<float> y(4);
  EXPECT_THROW(conv2d_forward<float>(g, std::vector<float>(8), std::vector<float>(4), y),
               std::invalid_argument);
  EXPECT_THROW(conv2d_forward<float>(g, std::vector<float>(9), std::vector<float>(3), y),
               std::invalid_argument);
  const Conv2dGeometry too_big{1, 1, 2, 2, 1, 3, 0};
  std::vector<float> none;
  EXPECT_THROW(conv2d_forward<float>(too_big, std::vector<float>(4), std::vector<float>(9), none),
               std::invalid_argument);
}

std::vector<double> random_doubles(size_t n, uint64_t stream) {
  const auto f = test::uniform(n, -1.0f, 1.0f, stream);
  return {f.begin(), f.end()};
}

class Conv2dGradient : public ::testing::TestWithParam<Conv2dGeometry> {};

// loss = sum(forward(x, w) * u): d loss / dx = backward_input(u, w), d loss / dw =
// backward_weight(x, u).
TEST_P(Conv2dGradient, BackwardMatchesFiniteDifferences) {
  const Conv2dGeometry g = GetParam();
  const std::string what =
      fmt::format("n{} c{}->{} {}x{} k{} pad{}", g.n, g.c_in, g.c_out, g.h, g.w, g.k, g.pad);
  const auto x = random_doubles(size_t{g.n} * g.c_in * g.h * g.w, 1);
  const auto w = random_doubles(size_t{g.c_out} * g.c_in * g.k * g.k, 2);
  const auto u = random_doubles(size_t{g.n} * g.c_out * g.h_out() * g.w_out(), 3);
  const auto loss = [&](const std::vector<double>& xs, const std::vector<double>& ws) {
    const auto y = forward<double>(g, xs, ws);
    double sum = 0.0;
    for (size_t i = 0; i < y.size(); ++i) sum += y[i] * u[i];
    return sum;
  };
  std::vector<double> dx(x.size()), dw(w.size());
  conv2d_backward_input<double>(g, u, w, dx);
  conv2d_backward_weight<double>(g, x, u, dw);
  EXPECT_TRUE(test::gradcheck(
      "conv2d_backward_input " + what, [&](const auto& xs) { return loss(xs, w); }, x, dx));
  EXPECT_TRUE(test::gradcheck(
      "conv2d_backward_weight " + what, [&](const auto& ws) { return loss(x, ws); }, w, dw));
}

INSTANTIATE_TEST_SUITE_P(Geometries, Conv2dGradient,
                         ::testing::Values(Conv2dGeometry{2, 3, 5, 4, 2, 3, 1},   // same padding
                                           Conv2dGeometry{2, 2, 6, 5, 3, 3, 0},   // valid
                                           Conv2dGeometry{3, 4, 3, 3, 2, 1, 0},   // 1x1
                                           Conv2dGeometry{1, 2, 7, 6, 2, 5, 2},   // 5x5, same
                                           Conv2dGeometry{1, 1, 4, 5, 1, 2, 0},   // even kernel
                                           Conv2dGeometry{1, 2, 2, 2, 2, 3, 1}),  // kernel > image
                         [](const auto& param) {
                           return test::case_name(
                               param.index,
                               fmt::format("n{} c{} h{} w{} o{} k{} pad{}", param.param.n,
                                           param.param.c_in, param.param.h, param.param.w,
                                           param.param.c_out, param.param.k, param.param.pad));
                         });

}  // namespace
}  // namespace vkm::nn::reference
