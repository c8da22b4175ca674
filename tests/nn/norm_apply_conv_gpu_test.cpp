// A norm applied by the conv that reads its output (nn::NormApply, the "input norm" fusion) vs
// the CPU reference: Conv2d's forward (with and without its output planes' statistics) and
// backward (both gradients, one pass), reading a BatchNorm2d's or a GroupNorm's input z and
// computing a = dropout(relu(norm(z))) as it loads; the backward to the input going on through
// the dropout and ReLU and writing (and finishing) the norm's backward sums, and the norm's
// backward from those (Statistics::kGiven). Training: the batch's statistics from
// record_statistics in the same graph, the fused dropout; eval: BatchNorm's running statistics,
// GroupNorm's per-sample ones, nothing dropped. Awkward shapes: partial batches, channel counts
// that are and are not packed (NC4HW4 / NCHW), kernels 3 and 1, padding, odd non-square planes;
// groups 1, 2 and C; poisoned outputs, samples past n left untouched, bitwise reruns. The
// reference runs in double from z (tests/support/norm_apply_fixture.hpp). And the arguments
// NormApply refuses.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/clock.hpp"
#include "nn/layers/batchnorm2d.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/groupnorm.hpp"
#include "nn/layers/norm_apply.hpp"
#include "nn/layers/pool.hpp"
#include "nn/reference/activation.hpp"
#include "nn/reference/batchnorm.hpp"
#include "nn/reference/conv2d.hpp"
#include "nn/reference/groupnorm.hpp"
#include "nn/reference/pool.hpp"
#include "tests/support/case_name.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/fused_dropout.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/norm_apply_fixture.hpp"
#include "tests/support/random.hpp"

namespace vkm::test {
namespace {

using namespace norm_apply;  // NOLINT: the fixture's vocabulary

// ---- Conv2d reading a norm's input -------------------------------------------------------------

class NormApplyConvGpuTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

// One training step as nn::Model records it: the norm's statistics, the conv's forward and
// backward applying the norm (its backward input going on through the ReLU and dropout and
// writing the norm's backward sums), then the norm's backward from those (Statistics::kGiven).
// Then an eval forward.
TEST_P(NormApplyConvGpuTest, TrainingAndEvalMatchReference) {
  const Case& c = GetParam();
  const std::string what = name(c);
  const uint64_t stream = stream_of(c);
  DeviceNorm norm(device(), c);
  nn::Conv2d conv(device(), kernels(), "conv", c.z, c.c_out, c.k, c.pad);
  EXPECT_FALSE(conv.applies_input_norm());
  conv.apply_input_norm(norm.apply(true), norm.apply(false));
  ASSERT_TRUE(conv.applies_input_norm());
  const nn::Shape out = conv.output_shape();
  const Buffer clock = dropout_clock(device());
  const Affine affine = upload_affine(norm, c, stream);

  nn::Tensor z(device(), c.z, "z"), y(device(), out, "y"), dy(device(), out, "dy"),
      dx(device(), c.z, "dx"), dz(device(), c.z, "dz");
  const size_t stats_floats = size_t{c.z.n} * c.c_out * 2;
  // The norm after the conv, whose plane statistics the forward writes (c.stats).
  const nn::BatchNorm2d next(device(), kernels(), "next", out, false, false);
  const Buffer& stats = next.statistics();
  const nn::NormStats next_stats = c.stats ? next.stats() : nn::NormStats{};
  const nn::NormStats* stats_out = &next_stats;
  const auto zv = norm_input(c.z, stream + 2);
  const auto ws = uniform(conv.weight().value.numel(), -0.5f, 0.5f, stream + 3);
  const auto dys = uniform(out.numel(), -1.0f, 1.0f, stream + 4);
  z.upload(zv);
  dy.upload(dys);
  conv.weight().value.upload(ws);

  const nn::reference::Conv2dGeometry g{c.n, c.z.c, c.z.h, c.z.w, c.c_out, c.k, c.pad};
  const size_t z_count = size_t{c.n} * c.z.sample(), y_count = size_t{c.n} * out.sample();
  const Vec z_head = widen(zv, z_count), dy_head = widen(dys, y_count), w(ws.begin(), ws.end());

  const nn::InputNormStep train_step{.train = true, .clock = &clock, .step = kDropoutStep};
  Graph train;
  norm.record_statistics(train, z, c.n);
  conv.record_forward(train, z, y, c.n, stats_out, train_step);
  conv.record_backward(train, z, dy, &dx, c.n, /*reduce_weight=*/true, train_step);
  norm.record_backward_given(train, z, dx, dz, c.n, clock);
  Program train_program(device(), train);
  enum { kY, kDx, kDw, kStats, kSums, kDz, kDgamma, kDbeta };
  const auto run_train = [&] {
    for (const nn::Tensor* t : {&y, &dx, &dz, &conv.weight().grad}) t->fill(NAN);
    for (nn::Parameter* p : norm.parameters()) p->grad.fill(NAN);
    device().fill(stats, 0x7FC00000u);
    device().fill(norm.statistics(), 0x7FC00000u);
    train_program.run();
    const auto read = [&](const Buffer& b, size_t floats) {
      std::vector<float> v(floats);
      device().download(b, std::as_writable_bytes(std::span(v)));
      return v;
    };
    std::vector<std::vector<float>> r{y.download(),
                                      dx.download(),
                                      conv.weight().grad.download(),
                                      read(stats, stats_floats),
                                      read(norm.statistics(), size_t{c.z.n} * c.z.c * 2),
                                      dz.download()};
    for (nn::Parameter* p : norm.parameters()) r.push_back(p->grad.download());
    return r;
  };
  const auto got = run_train();

  Vec running_mean(c.z.c, 0.0), running_var(c.z.c, 1.0);
  const NormRef ref = reference_norm(c, z_head, affine, true, running_mean, running_var);
  Vec want_y(y_count), want_da(z_count), want_dw(ws.size());
  nn::reference::conv2d_forward<double>(g, ref.a, w, want_y);
  nn::reference::conv2d_backward_input<double>(g, dy_head, w, want_da);
  nn::reference::conv2d_backward_weight<double>(g, ref.a, dy_head, want_dw);
  const auto [want_g, want_g_all] = through_dropout_and_relu(c, ref, want_da, got[kDx], what);
  Vec want_dz(z_count), want_dgamma(affine.gamma.size()), want_dbeta(affine.gamma.size());
  if (c.norm == Norm::kBatch) {
    nn::Shape s = c.z;
    s.n = c.n;
    nn::reference::batchnorm_backward<double>(s, z_head, want_g, affine.gamma, ref.mean, ref.invstd,
                                              want_dz, want_dgamma, want_dbeta);
  } else {
    nn::Shape s = c.z;
    s.n = c.n;
    nn::reference::groupnorm_backward<double>(s, c.groups, z_head, want_g, affine.gamma, ref.mean,
                                              ref.invstd, want_dz, want_dgamma, want_dbeta);
  }

  EXPECT_TRUE(close("training forward " + what, head(got[kY], y_count), want_y, kKernelTolerance));
  EXPECT_TRUE(close("backward weight " + what, got[kDw], want_dw, kKernelTolerance));
  EXPECT_TRUE(close("backward input (through the ReLU and dropout) " + what,
                    head(got[kDx], z_count), want_g, kKernelTolerance));
  EXPECT_TRUE(backward_sums_close("backward input " + what, got[kSums], c, z_head, want_g,
                                  want_g_all, ref.mean));
  EXPECT_TRUE(close("norm backward (sums given) dz " + what, head(got[kDz], z_count), want_dz,
                    kKernelTolerance));
  if (c.affine) {
    EXPECT_TRUE(close("norm backward dgamma " + what, got[kDgamma], want_dgamma, kKernelTolerance));
    EXPECT_TRUE(close("norm backward dbeta " + what, got[kDbeta], want_dbeta, kKernelTolerance));
  }
  EXPECT_TRUE(untouched_after(got[kY], y_count)) << what << ": forward wrote samples >= n";
  EXPECT_TRUE(untouched_after(got[kDx], z_count)) << what << ": backward input wrote samples >= n";
  EXPECT_TRUE(untouched_after(got[kDz], z_count)) << what << ": norm backward wrote samples >= n";
  if (c.stats) {
    EXPECT_TRUE(plane_statistics_close("training forward " + what, got[kStats], want_y,
                                       size_t{c.n} * c.c_out, out.plane()));
    EXPECT_TRUE(untouched_after(got[kStats], size_t{c.n} * c.c_out * 2))
        << what << ": statistics past n written";
  }

  // A rerun gives the same bits (the BatchNorm's running statistics move once more).
  const auto again = run_train();
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(bitwise_equal(fmt::format("rerun output {} {}", i, what), again[i], got[i]));
  }
  if (const nn::BatchNorm2d* bn = norm.bn()) {
    Vec unused_mean(c.z.c), unused_invstd(c.z.c), unused_y(z_count);
    nn::Shape s = c.z;
    s.n = c.n;
    // The second step's move, on the same batch.
    nn::reference::batchnorm_forward_train<double>(s, z_head, affine.gamma, affine.beta, kEps,
                                                   kMomentum, unused_y, running_mean, running_var,
                                                   unused_mean, unused_invstd);
    EXPECT_TRUE(close("running_mean " + what, bn->running_mean().download(), running_mean,
                      kKernelTolerance));
    EXPECT_TRUE(
        close("running_var " + what, bn->running_var().download(), running_var, kKernelTolerance));
    // Eval below with running statistics far from the initial (0, 1).
    upload_running_statistics(*bn, c.z.c, stream + 5, running_mean, running_var);
  }

  // Eval, on another batch: BatchNorm's running statistics; GroupNorm's of each sample (its
  // statistics recorded in the eval graph too). Nothing dropped, though the clock is bound.
  const auto ze = norm_input(c.z, stream + 7);
  z.upload(ze);
  y.fill(NAN);
  device().fill(stats, 0x7FC00000u);
  Graph eval;
  if (c.norm == Norm::kGroup) norm.record_statistics(eval, z, c.n);
  conv.record_forward(eval, z, y, c.n, stats_out,
                      {.train = false, .clock = &clock, .step = kDropoutStep});
  Program(device(), eval).run();
  const NormRef ref_eval =
      reference_norm(c, widen(ze, z_count), affine, false, running_mean, running_var);
  Vec want_eval(y_count);
  nn::reference::conv2d_forward<double>(g, ref_eval.a, w, want_eval);
  const auto got_eval = y.download();
  EXPECT_TRUE(close("eval forward " + what, head(got_eval, y_count), want_eval, kKernelTolerance));
  EXPECT_TRUE(untouched_after(got_eval, y_count)) << what << ": eval forward wrote samples >= n";
  if (c.stats) {
    std::vector<float> got_stats(stats_floats);
    device().download(stats, std::as_writable_bytes(std::span(got_stats)));
    EXPECT_TRUE(plane_statistics_close("eval forward " + what, got_stats, want_eval,
                                       size_t{c.n} * c.c_out, out.plane()));
  }
}

// NCHW where C % 4 != 0 (3, 6), NC4HW4 where C is 4 or 8 (both sides of the conv); partial
// batches of a built N = 5 (and n = 1, n = N); kernels 3 and 1, with and without padding.
INSTANTIATE_TEST_SUITE_P(Shapes, NormApplyConvGpuTest,
                         ::testing::Values(
                             // BatchNorm: packed in and out, dropout, statistics written too
                             Case{Norm::kBatch, {5, 8, 7, 7}, 3, 0, true, 0.3f, 8, 3, 1, true},
                             // NCHW in, packed out, no dropout
                             Case{Norm::kBatch, {5, 3, 9, 5}, 3, 0, true, 0.0f, 4, 3, 0, false},
                             // packed in, NCHW out, 1x1, the whole batch, no affine
                             Case{Norm::kBatch, {5, 4, 9, 5}, 5, 0, false, 0.2f, 6, 1, 0, true},
                             // NCHW both, one sample
                             Case{Norm::kBatch, {4, 6, 7, 7}, 1, 0, true, 0.3f, 3, 3, 1, false},
                             // GroupNorm: LayerNorm (one group), packed in
                             Case{Norm::kGroup, {5, 8, 7, 7}, 3, 1, true, 0.3f, 4, 3, 0, true},
                             // two groups of three channels, NCHW in, packed out
                             Case{Norm::kGroup, {5, 6, 9, 5}, 3, 2, true, 0.2f, 8, 3, 1, false},
                             // InstanceNorm, packed in, 1x1, no affine
                             Case{Norm::kGroup, {5, 4, 9, 5}, 3, 4, false, 0.3f, 3, 1, 0, true},
                             // InstanceNorm, NCHW, no dropout
                             Case{Norm::kGroup, {5, 3, 7, 7}, 3, 3, true, 0.0f, 4, 3, 1, false},
                             // two groups of four: a group is one packed vec4 of channels
                             Case{Norm::kGroup, {5, 8, 9, 5}, 4, 2, true, 0.3f, 8, 1, 0, true}),
                         [](const auto& param) {
                           return test::case_name(param.index, name(param.param));
                         });

// ---- Arguments ---------------------------------------------------------------------------------

TEST(NormApplyArguments, RefusesWhatCannotBeApplied) {
  Device& device = gpu().device;
  // The first conv case's layers (their kernels are already made where that case ran).
  const Case c{Norm::kBatch, {5, 8, 7, 7}, 3, 0, true, 0.3f, 8, 3, 1, true};
  DeviceNorm norm(device, c);
  nn::Conv2d conv(device, kernels(), "conv", c.z, c.c_out, c.k, c.pad);
  conv.apply_input_norm(norm.apply(true), norm.apply(false));
  nn::AvgPoolGlobal pool(kernels(), c.z);
  pool.apply_input_norm(norm.apply(true), norm.apply(false));
  nn::Tensor z(device, c.z, "z"), y(device, conv.output_shape(), "y"),
      p(device, pool.output_shape(), "p"), dx(device, c.z, "dx");
  Graph graph;
  // Dropout in training needs the clock.
  EXPECT_THROW(conv.record_forward(graph, z, y, 3, nullptr, {.train = true}), Error);
  EXPECT_THROW(conv.record_backward(graph, z, y, nullptr, 3, true, {.train = true}), Error);
  EXPECT_THROW(pool.record_forward(graph, z, p, 3, {.train = true}), Error);
  // The backward applies the training norm only.
  const Buffer clock = dropout_clock(device);
  EXPECT_THROW(
      conv.record_backward(graph, z, y, nullptr, 3, true, {.train = false, .clock = &clock}),
      Error);
  EXPECT_THROW(conv.record_backward(graph, z, y, &dx, 3, true, {.train = false, .clock = &clock}),
               Error);
  EXPECT_EQ(graph.size(), 0u);
  // The norm's eval form has no dropout: no clock needed.
  EXPECT_FALSE(norm.apply(false).dropout.on());
  EXPECT_TRUE(norm.apply(true).dropout.on());
  // Only a norm with its ReLU fused can be applied.
  nn::GroupNorm plain(device, kernels(), "plain", {2, 4, 3, 3}, 2, true, false);
  EXPECT_THROW(plain.apply(true), Error);
}

}  // namespace
}  // namespace vkm::test
