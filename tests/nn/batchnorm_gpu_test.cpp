// BatchNorm2d on the device vs the CPU reference: two training steps (forward, fused ReLU,
// backward, running statistics), then eval forward; awkward shapes (batch 1 and 3, 13 and 27,
// channels 1, 3, 8, 32, zero variance, |mean| >> std, partial batches), poisoned outputs,
// samples past n left untouched, bitwise determinism. DISABLED_TimeNetLayers times the net's
// shapes (run with --gtest_also_run_disabled_tests).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/layers/batchnorm2d.hpp"
#include "nn/reference/batchnorm.hpp"
#include "tests/support/case_name.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/fused_dropout.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/random.hpp"

namespace vkm::test {
namespace {

using Vec = std::vector<double>;

struct Case {
  nn::Shape shape;  // built for this (max) shape
  uint32_t n;       // the batch actually run
  bool affine;
  bool relu;
  float lo = -0.5f;  // x uniform in [lo, hi)
  float hi = 1.5f;
  float dropout = 0.0f;  // fused after the ReLU
};

nn::FusedDropout fused_dropout(const Case& c) {
  return {c.dropout, 3};
}

std::string name(const Case& c) {
  return fmt::format("batchnorm {} n={}{}{} x in [{}, {})", c.shape.str(), c.n,
                     c.affine ? " affine" : "", c.relu ? " relu" : "", c.lo, c.hi) +
         (c.dropout > 0.0f ? fmt::format(" dropout {}", c.dropout) : "");
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << name(c);
}

// The first `count` values, as float (device results) or double (reference inputs).
std::vector<float> head(const std::vector<float>& v, size_t count) {
  return {v.begin(), v.begin() + static_cast<std::ptrdiff_t>(count)};
}
Vec widen(const std::vector<float>& v, size_t count) {
  return {v.begin(), v.begin() + static_cast<std::ptrdiff_t>(count)};
}
bool untouched_after(const std::vector<float>& v, size_t count) {
  return std::all_of(v.begin() + static_cast<std::ptrdiff_t>(count), v.end(),
                     [](float f) { return std::isnan(f); });
}

// The reference of one training step: forward (+ ReLU), then backward of dy masked by the
// device's own output (y > 0), so that values within rounding of 0 cannot flip the mask.
struct Step {
  Vec y, dx, dgamma, dbeta;
};
Step reference_step(const Case& c, const Vec& x, const Vec& gamma, const Vec& beta, const Vec& dy,
                    const std::vector<float>& device_y, Vec& running_mean, Vec& running_var) {
  nn::Shape s = c.shape;
  s.n = c.n;
  Step r{Vec(s.numel()), Vec(s.numel()), Vec(gamma.size()), Vec(gamma.size())};
  Vec mean(s.c), invstd(s.c);
  nn::reference::batchnorm_forward_train<double>(s, x, gamma, beta, 1e-5, 0.1, r.y, running_mean,
                                                 running_var, mean, invstd);
  Vec g = dy;
  if (c.relu) {
    for (auto& v : r.y) v = std::max(v, 0.0);
    for (size_t i = 0; i < g.size(); ++i) g[i] = device_y[i] > 0.0f ? g[i] : 0.0;
  }
  fused_dropout_reference(fused_dropout(c), r.y, g);
  nn::reference::batchnorm_backward<double>(s, x, g, gamma, mean, invstd, r.dx, r.dgamma, r.dbeta);
  return r;
}

// Upstream gradient: noise plus an offset and a component along x, so that the parameter
// gradients (sums over a channel) do not cancel to near zero: a sum that cancels carries float's
// absolute rounding error (~1e-7 of its terms' size) as a large relative error, in any float sum.
std::vector<float> upstream(const std::vector<float>& x, float lo, float hi, uint64_t stream) {
  auto dy = uniform(x.size(), -1.0f, 1.0f, stream);
  const float centre = 0.5f * (lo + hi);
  for (size_t i = 0; i < dy.size(); ++i) dy[i] += 0.25f + 0.5f * (x[i] - centre) / (hi - lo);
  return dy;
}

class BatchNormGpuTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(BatchNormGpuTest, TrainingStepsAndEvalMatchReference) {
  const Case& c = GetParam();
  const std::string what = name(c);
  nn::BatchNorm2d bn(device(), kernels(), "norm", c.shape, c.affine, c.relu, fused_dropout(c));
  const Buffer clock = dropout_clock(device());
  ASSERT_EQ(bn.output_shape(), c.shape);
  ASSERT_EQ(bn.parameters().size(), c.affine ? 2u : 0u);
  ASSERT_EQ(bn.parameter_count(), c.affine ? 2u * c.shape.c : 0u);
  nn::Tensor x(device(), c.shape, "x"), y(device(), c.shape, "y");
  nn::Tensor dy(device(), c.shape, "dy"), dx(device(), c.shape, "dx");

  const uint64_t stream = c.shape.numel() * 16 + c.n;
  Vec gamma, beta;
  if (c.affine) {
    const auto g = uniform(c.shape.c, 0.5f, 1.5f, stream + 1);
    const auto b = uniform(c.shape.c, -0.5f, 0.5f, stream + 2);
    bn.parameters()[0]->value.upload(g);
    bn.parameters()[1]->value.upload(b);
    gamma.assign(g.begin(), g.end());
    beta.assign(b.begin(), b.end());
  }
  const size_t count = size_t{c.n} * c.shape.sample();
  Vec running_mean(c.shape.c, 0.0), running_var(c.shape.c, 1.0);

  Graph train;
  bn.record_forward_train(train, x, y, c.n, &clock, kDropoutStep);
  bn.record_backward(train, x, dy, dx, c.n, &clock, kDropoutStep);
  Program step(device(), train);
  std::vector<float> last_y, last_dx, last_dgamma;
  for (int k = 0; k < 2; ++k) {
    const auto xv = uniform(c.shape.numel(), c.lo, c.hi, stream + 3 + k);
    const auto dyv = upstream(xv, c.lo, c.hi, stream + 5 + k);
    x.upload(xv);
    dy.upload(dyv);
    y.fill(NAN);
    dx.fill(NAN);
    for (nn::Parameter* p : bn.parameters()) p->grad.fill(NAN);
    step.run();
    last_y = y.download();
    last_dx = dx.download();
    const Step want = reference_step(c, widen(xv, count), gamma, beta, widen(dyv, count), last_y,
                                     running_mean, running_var);
    const std::string at = fmt::format("{} step {}", what, k + 1);
    EXPECT_TRUE(close("y " + at, head(last_y, count), want.y, kKernelTolerance));
    EXPECT_TRUE(close("dx " + at, head(last_dx, count), want.dx, kKernelTolerance));
    EXPECT_TRUE(untouched_after(last_y, count)) << "y past n written, " << at;
    EXPECT_TRUE(untouched_after(last_dx, count)) << "dx past n written, " << at;
    if (c.affine) {
      last_dgamma = bn.parameters()[0]->grad.download();
      EXPECT_TRUE(close("dgamma " + at, last_dgamma, want.dgamma, kKernelTolerance));
      EXPECT_TRUE(
          close("dbeta " + at, bn.parameters()[1]->grad.download(), want.dbeta, kKernelTolerance));
    }
  }
  EXPECT_TRUE(
      close("running_mean " + what, bn.running_mean().download(), running_mean, kKernelTolerance));
  EXPECT_TRUE(
      close("running_var " + what, bn.running_var().download(), running_var, kKernelTolerance));

  // Eval with the running statistics of the two steps.
  const auto xe = uniform(c.shape.numel(), c.lo, c.hi, stream + 7);
  x.upload(xe);
  y.fill(NAN);
  Graph eval;
  bn.record_forward_eval(eval, x, y, c.n);
  Program(device(), eval).run();
  nn::Shape s = c.shape;
  s.n = c.n;
  Vec want_eval(count);
  nn::reference::batchnorm_forward_eval<double>(s, widen(xe, count), gamma, beta, running_mean,
                                                running_var, 1e-5, want_eval);
  if (c.relu) {
    for (auto& v : want_eval) v = std::max(v, 0.0);
  }
  const auto got_eval = y.download();
  EXPECT_TRUE(close("eval y " + what, head(got_eval, count), want_eval, kKernelTolerance));
  EXPECT_TRUE(untouched_after(got_eval, count)) << "eval y past n written, " << what;

  // Bitwise determinism: the second step again gives the same bits.
  x.upload(uniform(c.shape.numel(), c.lo, c.hi, stream + 4));
  y.fill(NAN);
  dx.fill(NAN);
  for (nn::Parameter* p : bn.parameters()) p->grad.fill(NAN);
  step.run();
  EXPECT_TRUE(bitwise_equal("rerun y " + what, y.download(), last_y));
  EXPECT_TRUE(bitwise_equal("rerun dx " + what, dx.download(), last_dx));
  if (c.affine) {
    EXPECT_TRUE(
        bitwise_equal("rerun dgamma " + what, bn.parameters()[0]->grad.download(), last_dgamma));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, BatchNormGpuTest,
    ::testing::Values(Case{{1, 1, 13, 13}, 1, true, false}, Case{{3, 3, 27, 27}, 3, true, true},
                      Case{{128, 8, 26, 26}, 128, true, true},  // the net's first norm
                      Case{{128, 32, 5, 5}, 128, false, true},  // no affine, unaligned planes
                      Case{{128, 16, 7, 7}, 100, true, true},   // partial batch
                      Case{{128, 8, 22, 22}, 128, true, false, 0.0f, 3.0f},
                      Case{{3, 32, 13, 13}, 2, false, false},  // partial batch, no affine
                      Case{{3, 8, 1, 1}, 1, true, true},       // one value per channel
                      Case{{2, 8, 13, 13}, 2, true, false, 9.5f, 11.5f},  // |mean| = 18 std
                      Case{{5, 3, 1, 37}, 5, true, true},
                      // fused dropout: vec4 planes; unaligned planes with a partial batch
                      Case{{128, 8, 22, 22}, 128, true, true, -0.5f, 1.5f, 0.05f},
                      Case{{128, 16, 7, 7}, 100, false, true, -0.5f, 1.5f, 0.3f}),
    [](const auto& param) { return test::case_name(param.index, name(param.param)); });

TEST(BatchNormArguments, BatchMustFitTheLayer) {
  nn::BatchNorm2d bn(gpu().device, kernels(), "norm", {2, 3, 4, 4}, true, false);
  nn::Tensor x(gpu().device, {2, 3, 4, 4}, "x"), y(gpu().device, {2, 3, 4, 4}, "y");
  nn::Tensor wrong(gpu().device, {2, 4, 4, 4}, "wrong");
  Graph g;
  EXPECT_THROW(bn.record_forward_train(g, x, y, 3), Error);
  EXPECT_THROW(bn.record_forward_train(g, x, y, 0), Error);
  EXPECT_THROW(bn.record_forward_eval(g, wrong, y, 2), Error);
}

// Forward (train) + backward per net layer at batch 128, fused ReLU: best of 60 runs, and the
// best time of each kernel in a profiled run (kernels then run one at a time).
TEST_F(BatchNormGpuTest, DISABLED_TimeNetLayers) {
  const nn::Shape shapes[] = {{128, 8, 26, 26}, {128, 8, 24, 24}, {128, 8, 22, 22},
                              {128, 16, 9, 9},  {128, 16, 7, 7},  {128, 8, 7, 7},
                              {128, 32, 5, 5},  {128, 16, 5, 5}};
  double total = 0.0;
  for (const nn::Shape& s : shapes) {
    nn::BatchNorm2d bn(device(), kernels(), "norm", s, true, true);
    nn::Tensor x(device(), s, "x"), y(device(), s, "y"), dy(device(), s, "dy"),
        dx(device(), s, "dx");
    x.upload(uniform(s.numel(), -0.5f, 1.5f, 1));
    dy.upload(uniform(s.numel(), -1.0f, 1.0f, 2));
    auto time = [&](const Graph& g) {
      Program program(device(), g);
      program.run();
      double best = 1e30;
      for (int i = 0; i < 60; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        program.run();
        best = std::min(
            best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                      .count());
      }
      return best;
    };
    Graph forward, backward, both;
    bn.record_forward_train(forward, x, y, s.n);
    bn.record_backward(backward, x, dy, dx, s.n);
    both.append(forward);
    both.append(backward);
    const double f = time(forward), b = time(backward), fb = time(both);
    total += fb;
    std::printf("batchnorm %-18s forward %.3f ms  backward %.3f ms  forward+backward %.3f ms\n",
                s.str().c_str(), f, b, fb);
    Program profiled(device(), both, {.profile = true});
    std::vector<double> best(both.size(), 1e30);
    for (int i = 0; i < 60; ++i) {
      profiled.run();
      const auto timings = profiled.timings();
      for (size_t k = 0; k < timings.size(); ++k) best[k] = std::min(best[k], timings[k].ms);
    }
    const auto timings = profiled.timings();
    for (size_t k = 0; k < timings.size(); ++k) {
      std::printf("    %-28s %.3f ms\n", timings[k].label.c_str(), best[k]);
    }
  }
  std::printf("batchnorm all eight layers forward+backward: %.3f ms\n", total);
}

}  // namespace
}  // namespace vkm::test
