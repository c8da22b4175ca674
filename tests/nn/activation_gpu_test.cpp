// Relu and Dropout on the device vs the CPU reference: awkward shapes and partial batches,
// poisoned outputs, samples past n untouched, bitwise determinism; dropout's mask bit for bit
// the reference's, shared by forward and backward, keeping about 1 - p, different for other steps
// and salts, and the identity at p = 0.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/clock.hpp"
#include "nn/layers/activation.hpp"
#include "nn/reference/activation.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/random.hpp"

namespace vkm::test {
namespace {

struct Case {
  nn::Shape shape;  // built for this (max) shape
  uint32_t n;       // the batch actually run
};

std::string name(const Case& c) {
  return fmt::format("{} n={}", c.shape.str(), c.n);
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << name(c);
}

std::vector<float> head(const std::vector<float>& v, size_t count) {
  return {v.begin(), v.begin() + static_cast<std::ptrdiff_t>(count)};
}
bool identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
bool untouched_after(const std::vector<float>& v, size_t count) {
  return std::all_of(v.begin() + static_cast<std::ptrdiff_t>(count), v.end(),
                     [](float f) { return std::isnan(f); });
}

// Values of magnitude in [0.5, 1.5) with either sign: never zero, so a zero output means dropped.
std::vector<float> nonzero(size_t count, uint64_t stream) {
  auto v = uniform(count, -1.0f, 1.0f, stream);
  for (auto& f : v) f = f < 0.0f ? f - 0.5f : f + 0.5f;
  return v;
}

class ActivationGpuTest : public GpuTest {
 protected:
  template <typename Record>
  std::vector<float> run(const nn::Tensor& out, Record record) {
    out.fill(NAN);
    Graph g;
    record(g);
    Program(device(), g).run();
    return out.download();
  }
  Buffer clock(nn::ClockState state) {
    Buffer b = device().buffer(sizeof(nn::ClockState), "clock");
    set_clock(b, state);
    return b;
  }
  void set_clock(const Buffer& b, nn::ClockState state) {
    device().upload(b, std::as_bytes(std::span(&state, 1)));
  }
};

class ReluGpuTest : public ActivationGpuTest, public ::testing::WithParamInterface<Case> {};
class DropoutGpuTest : public ActivationGpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(ReluGpuTest, MatchesReference) {
  const Case& c = GetParam();
  const nn::Relu relu(kernels(), c.shape);
  ASSERT_EQ(relu.output_shape(), c.shape);
  nn::Tensor x(device(), c.shape, "x"), y(device(), c.shape, "y");
  nn::Tensor dy(device(), c.shape, "dy"), dx(device(), c.shape, "dx");
  const auto xv = uniform(c.shape.numel(), -1.0f, 1.0f, 1);
  const auto dyv = uniform(c.shape.numel(), -1.0f, 1.0f, 2);
  x.upload(xv);
  dy.upload(dyv);
  const size_t count = size_t{c.n} * c.shape.sample();

  auto forward = [&](Graph& g) { relu.record_forward(g, x, y, c.n); };
  const auto got_y = run(y, forward);
  std::vector<float> want_y(count);
  nn::reference::relu_forward<float>(head(xv, count), want_y);
  EXPECT_TRUE(close("relu_forward " + name(c), head(got_y, count), want_y, 1e-5));
  EXPECT_TRUE(untouched_after(got_y, count)) << "forward wrote past sample n";
  EXPECT_TRUE(bitwise_equal("relu_forward rerun " + name(c), got_y, run(y, forward)));

  std::vector<float> full_y(xv.size());  // the forward's output for every sample
  nn::reference::relu_forward<float>(xv, full_y);
  y.upload(full_y);
  auto backward = [&](Graph& g) { relu.record_backward(g, y, dy, dx, c.n); };
  const auto got_dx = run(dx, backward);
  std::vector<float> want_dx(count);
  nn::reference::relu_backward<float>(want_y, head(dyv, count), want_dx);
  EXPECT_TRUE(close("relu_backward " + name(c), head(got_dx, count), want_dx, 1e-5));
  EXPECT_TRUE(untouched_after(got_dx, count)) << "backward wrote past sample n";
  EXPECT_TRUE(bitwise_equal("relu_backward rerun " + name(c), got_dx, run(dx, backward)));
}

TEST_P(DropoutGpuTest, MaskIsTheReferencesBitForBit) {
  const Case& c = GetParam();
  const float p = 0.1f;
  const uint32_t salt = 3;
  const nn::ClockState state{.epoch = 2, .steps_per_epoch = 7, .seed = 12345};
  const uint32_t step = 4, global = nn::global_step(state, step);  // 18
  const Buffer clk = clock(state);
  const nn::Dropout dropout(kernels(), c.shape, p, salt);
  ASSERT_EQ(dropout.output_shape(), c.shape);
  nn::Tensor x(device(), c.shape, "x"), y(device(), c.shape, "y");
  nn::Tensor dy(device(), c.shape, "dy"), dx(device(), c.shape, "dx");
  const auto xv = nonzero(c.shape.numel(), 3);
  const auto dyv = nonzero(c.shape.numel(), 4);
  x.upload(xv);
  dy.upload(dyv);
  const size_t count = size_t{c.n} * c.shape.sample();

  auto forward = [&](Graph& g) { dropout.record_forward(g, x, y, clk, step, c.n); };
  auto backward = [&](Graph& g) { dropout.record_backward(g, dy, dx, clk, step, c.n); };
  const auto got_y = run(y, forward);
  const auto got_dx = run(dx, backward);
  std::vector<float> want_y(count), want_dx(count);
  nn::reference::dropout_forward<float>(p, state.seed, salt, global, head(xv, count), want_y);
  nn::reference::dropout_backward<float>(p, state.seed, salt, global, head(dyv, count), want_dx);
  EXPECT_TRUE(close("dropout_forward " + name(c), head(got_y, count), want_y, 1e-5));
  EXPECT_TRUE(close("dropout_backward " + name(c), head(got_dx, count), want_dx, 1e-5));
  size_t mask_mismatches = 0, backward_mismatches = 0;
  for (size_t i = 0; i < count; ++i) {
    const bool keep =
        nn::reference::dropout_keep(state.seed, salt, global, static_cast<uint32_t>(i), p);
    mask_mismatches += (got_y[i] != 0.0f) != keep ? 1 : 0;
    backward_mismatches += (got_dx[i] != 0.0f) != (got_y[i] != 0.0f) ? 1 : 0;
  }
  EXPECT_EQ(mask_mismatches, 0u) << "forward mask differs from the reference's";
  EXPECT_EQ(backward_mismatches, 0u) << "backward mask differs from the forward's";
  EXPECT_TRUE(untouched_after(got_y, count)) << "forward wrote past sample n";
  EXPECT_TRUE(untouched_after(got_dx, count)) << "backward wrote past sample n";
  EXPECT_TRUE(bitwise_equal("dropout_forward rerun " + name(c), got_y, run(y, forward)));
  EXPECT_TRUE(bitwise_equal("dropout_backward rerun " + name(c), got_dx, run(dx, backward)));
}

const auto kShapes = ::testing::Values(Case{{1, 1, 13, 13}, 1},      //
                                       Case{{3, 3, 27, 27}, 3},      //
                                       Case{{128, 8, 26, 26}, 128},  // the seed net's first layer
                                       Case{{5, 32, 13, 13}, 3},     // partial batch
                                       Case{{3, 1, 1, 37}, 2});      // last workgroup partial
INSTANTIATE_TEST_SUITE_P(Shapes, ReluGpuTest, kShapes,
                         [](const auto& param) { return fmt::format("case{}", param.index); });
INSTANTIATE_TEST_SUITE_P(Shapes, DropoutGpuTest, kShapes,
                         [](const auto& param) { return fmt::format("case{}", param.index); });

class DropoutMaskGpuTest : public ActivationGpuTest {
 protected:
  const nn::Shape shape_{128, 8, 26, 26};
  nn::Tensor ones_{device(), shape_, "ones"};
  nn::Tensor y_{device(), shape_, "y"};

  void SetUp() override {
    ActivationGpuTest::SetUp();
    ones_.fill(1.0f);
  }
  std::vector<float> mask(float p, uint32_t salt, const Buffer& clk, uint32_t step) {
    const nn::Dropout dropout(kernels(), shape_, p, salt);
    return run(y_, [&](Graph& g) { dropout.record_forward(g, ones_, y_, clk, step, shape_.n); });
  }
};

TEST_F(DropoutMaskGpuTest, KeepsAboutOneMinusP) {
  const Buffer clk = clock({.epoch = 0, .steps_per_epoch = 100, .seed = 7});
  for (float p : {0.05f, 0.1f, 0.5f}) {
    const auto m = mask(p, 1, clk, 3);
    const auto kept = std::count_if(m.begin(), m.end(), [](float f) { return f != 0.0f; });
    // ~692k elements: the binomial standard deviation is below 0.0007; allow five of them.
    EXPECT_NEAR(static_cast<double>(kept) / static_cast<double>(m.size()), 1.0 - p, 0.0035)
        << "p = " << p;
  }
}

TEST_F(DropoutMaskGpuTest, DiffersAcrossStepsSaltsAndEpochs) {
  const Buffer clk = clock({.epoch = 1, .steps_per_epoch = 10, .seed = 7});
  const auto base = mask(0.5f, 1, clk, 3);
  EXPECT_TRUE(bitwise_equal("same step and salt", base, mask(0.5f, 1, clk, 3)));
  EXPECT_FALSE(identical(base, mask(0.5f, 1, clk, 4)));
  EXPECT_FALSE(identical(base, mask(0.5f, 2, clk, 3)));
  // The same program step in the next epoch is another global step: another mask.
  set_clock(clk, {.epoch = 2, .steps_per_epoch = 10, .seed = 7});
  EXPECT_FALSE(identical(base, mask(0.5f, 1, clk, 3)));
  // ... and global step 13 is global step 13 however it is reached.
  set_clock(clk, {.epoch = 0, .steps_per_epoch = 10, .seed = 7});
  EXPECT_TRUE(bitwise_equal("global step 13", base, mask(0.5f, 1, clk, 13)));
}

TEST_F(DropoutMaskGpuTest, ZeroProbabilityIsTheIdentity) {
  const Buffer clk = clock({.epoch = 3, .steps_per_epoch = 10, .seed = 7});
  const nn::Dropout dropout(kernels(), shape_, 0.0f, 1);
  nn::Tensor x(device(), shape_, "x");
  const auto xv = uniform(shape_.numel(), -1.0f, 1.0f, 5);
  x.upload(xv);
  const auto got = run(y_, [&](Graph& g) { dropout.record_forward(g, x, y_, clk, 2, shape_.n); });
  EXPECT_TRUE(bitwise_equal("dropout p = 0", got, xv));
}

TEST(DropoutGpuArguments, RejectsBadProbabilitiesAndTensors) {
  EXPECT_THROW(nn::Dropout(kernels(), {2, 3, 4, 4}, 1.0f, 0), Error);
  EXPECT_THROW(nn::Dropout(kernels(), {2, 3, 4, 4}, -0.5f, 0), Error);
  const nn::Relu relu(kernels(), {2, 3, 4, 4});
  nn::Tensor x(gpu().device, {2, 3, 4, 4}, "x"), small(gpu().device, {2, 3, 4, 2}, "small");
  Graph g;
  EXPECT_THROW(relu.record_forward(g, x, small, 2), Error);
  EXPECT_THROW(relu.record_forward(g, x, x, 3), Error);
}

}  // namespace
}  // namespace vkm::test
