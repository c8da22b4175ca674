// GroupNorm (and LayerNorm as one group) on the device vs the CPU reference: forward, fused
// ReLU, backward; awkward shapes (batch 1 and 3, 13 and 27, channels 1, 3, 8, 32, one value per
// group, |mean| >> std, partial batches), groups 1, 2, 3, 4, 8, poisoned outputs, samples past n
// left untouched, bitwise determinism. DISABLED_TimeNetLayers times the net's shapes (run with
// --gtest_also_run_disabled_tests).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/layers/groupnorm.hpp"
#include "nn/reference/groupnorm.hpp"
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
  uint32_t groups;
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
  return fmt::format("groupnorm {} n={} groups={}{}{} x in [{}, {})", c.shape.str(), c.n, c.groups,
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

// Upstream gradient: noise plus an offset and a component along x, so that the parameter
// gradients (sums over a channel) do not cancel to near zero: a sum that cancels carries float's
// absolute rounding error (~1e-7 of its terms' size) as a large relative error, in any float sum.
std::vector<float> upstream(const std::vector<float>& x, float lo, float hi, uint64_t stream) {
  auto dy = uniform(x.size(), -1.0f, 1.0f, stream);
  const float centre = 0.5f * (lo + hi);
  for (size_t i = 0; i < dy.size(); ++i) dy[i] += 0.25f + 0.5f * (x[i] - centre) / (hi - lo);
  return dy;
}

// The reference of one step: forward (+ ReLU), then backward of dy masked by the device's own
// output (y > 0), so that values within rounding of 0 cannot flip the mask.
struct Step {
  Vec y, dx, dgamma, dbeta;
};
Step reference_step(const Case& c, const Vec& x, const Vec& gamma, const Vec& beta, const Vec& dy,
                    const std::vector<float>& device_y) {
  nn::Shape s = c.shape;
  s.n = c.n;
  Step r{Vec(s.numel()), Vec(s.numel()), Vec(gamma.size()), Vec(gamma.size())};
  Vec mean(size_t{s.n} * c.groups), invstd(mean.size());
  nn::reference::groupnorm_forward<double>(s, c.groups, x, gamma, beta, 1e-5, r.y, mean, invstd);
  Vec g = dy;
  if (c.relu) {
    for (auto& v : r.y) v = std::max(v, 0.0);
    for (size_t i = 0; i < g.size(); ++i) g[i] = device_y[i] > 0.0f ? g[i] : 0.0;
  }
  fused_dropout_reference(fused_dropout(c), r.y, g);
  nn::reference::groupnorm_backward<double>(s, c.groups, x, g, gamma, mean, invstd, r.dx, r.dgamma,
                                            r.dbeta);
  return r;
}

class GroupNormGpuTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(GroupNormGpuTest, ForwardAndBackwardMatchReference) {
  const Case& c = GetParam();
  const std::string what = name(c);
  nn::GroupNorm gn(device(), kernels(), "norm", c.shape, c.groups, c.affine, c.relu,
                   fused_dropout(c));
  const Buffer clock = dropout_clock(device());
  ASSERT_EQ(gn.output_shape(), c.shape);
  ASSERT_EQ(gn.parameters().size(), c.affine ? 2u : 0u);
  ASSERT_EQ(gn.parameter_count(), c.affine ? 2u * c.shape.c : 0u);
  nn::Tensor x(device(), c.shape, "x"), y(device(), c.shape, "y");
  nn::Tensor dy(device(), c.shape, "dy"), dx(device(), c.shape, "dx");

  const uint64_t stream = c.shape.numel() * 16 + c.n * 4 + c.groups;
  Vec gamma, beta;
  if (c.affine) {
    const auto g = uniform(c.shape.c, 0.5f, 1.5f, stream + 1);
    const auto b = uniform(c.shape.c, -0.5f, 0.5f, stream + 2);
    gn.parameters()[0]->value.upload(g);
    gn.parameters()[1]->value.upload(b);
    gamma.assign(g.begin(), g.end());
    beta.assign(b.begin(), b.end());
  }
  const size_t count = size_t{c.n} * c.shape.sample();

  Graph graph;
  gn.record_forward(graph, x, y, c.n, &clock, kDropoutStep);
  gn.record_backward(graph, x, dy, dx, c.n, &clock, kDropoutStep);
  Program step(device(), graph);
  const auto xv = uniform(c.shape.numel(), c.lo, c.hi, stream + 3);
  const auto dyv = upstream(xv, c.lo, c.hi, stream + 4);
  x.upload(xv);
  dy.upload(dyv);
  std::vector<float> got_y, got_dx, got_dgamma;
  for (int k = 0; k < 2; ++k) {  // the second run checks bitwise determinism
    y.fill(NAN);
    dx.fill(NAN);
    for (nn::Parameter* p : gn.parameters()) p->grad.fill(NAN);
    step.run();
    if (k == 1) {
      EXPECT_TRUE(bitwise_equal("rerun y " + what, y.download(), got_y));
      EXPECT_TRUE(bitwise_equal("rerun dx " + what, dx.download(), got_dx));
      if (c.affine) {
        EXPECT_TRUE(
            bitwise_equal("rerun dgamma " + what, gn.parameters()[0]->grad.download(), got_dgamma));
      }
      break;
    }
    got_y = y.download();
    got_dx = dx.download();
    if (c.affine) got_dgamma = gn.parameters()[0]->grad.download();
  }

  const Step want = reference_step(c, widen(xv, count), gamma, beta, widen(dyv, count), got_y);
  EXPECT_TRUE(close("y " + what, head(got_y, count), want.y, kKernelTolerance));
  EXPECT_TRUE(close("dx " + what, head(got_dx, count), want.dx, kKernelTolerance));
  EXPECT_TRUE(untouched_after(got_y, count)) << "y past n written, " << what;
  EXPECT_TRUE(untouched_after(got_dx, count)) << "dx past n written, " << what;
  if (c.affine) {
    EXPECT_TRUE(close("dgamma " + what, got_dgamma, want.dgamma, kKernelTolerance));
    EXPECT_TRUE(
        close("dbeta " + what, gn.parameters()[1]->grad.download(), want.dbeta, kKernelTolerance));
  }

  // Without a clock (evaluation) nothing is dropped.
  if (c.dropout > 0.0f) {
    Graph eval;
    gn.record_forward(eval, x, y, c.n);
    y.fill(NAN);
    Program(device(), eval).run();
    Case plain = c;
    plain.dropout = 0.0f;
    const auto got_eval = y.download();
    const Step want_eval =
        reference_step(plain, widen(xv, count), gamma, beta, widen(dyv, count), got_eval);
    EXPECT_TRUE(close("eval y " + what, head(got_eval, count), want_eval.y, kKernelTolerance));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GroupNormGpuTest,
    ::testing::Values(Case{{1, 1, 13, 13}, 1, 1, true, false},
                      Case{{3, 3, 27, 27}, 3, 3, true, true},
                      Case{{3, 3, 27, 27}, 2, 1, false, true},     // LayerNorm, partial batch
                      Case{{128, 8, 26, 26}, 128, 4, true, true},  // the net's first norm
                      Case{{128, 8, 24, 24}, 128, 1, true, true},  // LayerNorm
                      Case{{16, 8, 26, 26}, 16, 8, true, true},    // InstanceNorm, packed
                      Case{{128, 32, 5, 5}, 128, 8, false, true},  // no affine, unaligned planes
                      Case{{128, 16, 9, 9}, 100, 2, true, true},   // partial batch
                      Case{{128, 16, 7, 7}, 128, 1, true, false, 0.0f, 3.0f},
                      Case{{3, 8, 1, 1}, 3, 8, true, true},                  // one value per group
                      Case{{2, 8, 13, 13}, 2, 2, true, false, 9.5f, 11.5f},  // |mean| = 18 std
                      Case{{5, 3, 1, 37}, 4, 1, true, true},
                      // fused dropout: vec4 planes (LayerNorm); unaligned planes, partial batch
                      Case{{128, 8, 22, 22}, 128, 1, true, true, -0.5f, 1.5f, 0.05f},
                      Case{{128, 16, 7, 7}, 100, 4, false, true, -0.5f, 1.5f, 0.3f}),
    [](const auto& param) { return test::case_name(param.index, name(param.param)); });

TEST(GroupNormArguments, GroupsMustDivideChannels) {
  try {
    nn::GroupNorm(gpu().device, kernels(), "norm3", {2, 8, 4, 4}, 3, true, false);
    FAIL() << "3 groups of 8 channels accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("3 groups"), std::string::npos) << message;
    EXPECT_NE(message.find("8 channels"), std::string::npos) << message;
  }
  EXPECT_THROW(nn::GroupNorm(gpu().device, kernels(), "norm", {2, 8, 4, 4}, 0, true, false), Error);
}

TEST(GroupNormArguments, BatchMustFitTheLayer) {
  nn::GroupNorm gn(gpu().device, kernels(), "norm", {2, 4, 4, 4}, 2, true, false);
  nn::Tensor x(gpu().device, {2, 4, 4, 4}, "x"), y(gpu().device, {2, 4, 4, 4}, "y");
  nn::Tensor wrong(gpu().device, {2, 4, 5, 4}, "wrong");
  Graph g;
  EXPECT_THROW(gn.record_forward(g, x, y, 3), Error);
  EXPECT_THROW(gn.record_forward(g, x, wrong, 2), Error);
}

// Forward + backward per net layer at batch 128, fused ReLU, best of 60 runs, for LayerNorm and
// GroupNorm with 4 groups.
TEST_F(GroupNormGpuTest, DISABLED_TimeNetLayers) {
  const nn::Shape shapes[] = {{128, 8, 26, 26}, {128, 8, 24, 24}, {128, 8, 22, 22},
                              {128, 16, 9, 9},  {128, 16, 7, 7},  {128, 8, 7, 7},
                              {128, 32, 5, 5},  {128, 16, 5, 5}};
  auto time = [&](const Graph& g) {
    Program program(device(), g);
    program.run();
    double best = 1e30;
    for (int i = 0; i < 60; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      program.run();
      best = std::min(
          best,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
  };
  for (const uint32_t groups : {1u, 4u}) {
    double total = 0.0;
    for (const nn::Shape& s : shapes) {
      nn::GroupNorm gn(device(), kernels(), "norm", s, groups, true, true);
      nn::Tensor x(device(), s, "x"), y(device(), s, "y"), dy(device(), s, "dy"),
          dx(device(), s, "dx");
      x.upload(uniform(s.numel(), -0.5f, 1.5f, 1));
      dy.upload(uniform(s.numel(), -1.0f, 1.0f, 2));
      Graph forward, backward, both;
      gn.record_forward(forward, x, y, s.n);
      gn.record_backward(backward, x, dy, dx, s.n);
      both.append(forward);
      both.append(backward);
      const double f = time(forward), b = time(backward), fb = time(both);
      total += fb;
      std::printf(
          "groupnorm G=%u %-18s forward %.3f ms  backward %.3f ms  forward+backward %.3f ms\n",
          groups, s.str().c_str(), f, b, fb);
    }
    std::printf("groupnorm G=%u all eight layers forward+backward: %.3f ms\n", groups, total);
  }
}

}  // namespace
}  // namespace vkm::test
