// A norm applied by the pools that read its output (nn::NormApply, the "input norm" fusion) vs
// the CPU reference: AvgPoolGlobal's and MaxPool2d's forward and backward, each reading a
// BatchNorm2d's or a GroupNorm's input z and computing a = dropout(relu(norm(z))) as it loads,
// the backward going on through the dropout and ReLU and writing the norm's backward sums.
// Training and eval, awkward shapes, poisoned outputs (tests/support/norm_apply_fixture.hpp).
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

// ---- The pools reading a norm's input -----------------------------------------------------------

class NormApplyPoolGpuTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

// One training step of a pool that applies the norm, as nn::Model records it: the norm's
// statistics, the pool's forward, its backward going on through the ReLU and dropout (writing
// and finishing the norm's backward sums), the norm's backward from those (Statistics::kGiven);
// then an eval forward. Pool: nn::AvgPoolGlobal or nn::MaxPool2d; reference_forward/backward:
// the reference pool on the activations.
template <typename Pool, typename RefForward, typename RefBackward>
void check_pool(const Case& c, const std::string& kind, RefForward reference_forward,
                RefBackward reference_backward) {
  const std::string what = kind + " " + name(c);
  const uint64_t stream = stream_of(c);
  DeviceNorm norm(gpu().device, c);
  Pool pool(kernels(), c.z);
  pool.apply_input_norm(norm.apply(true), norm.apply(false));
  const nn::Shape out = pool.output_shape();
  const Buffer clock = dropout_clock(gpu().device);
  const Affine affine = upload_affine(norm, c, stream);
  nn::Tensor z(gpu().device, c.z, "z"), y(gpu().device, out, "y"), dy(gpu().device, out, "dy"),
      g(gpu().device, c.z, "g"), dz(gpu().device, c.z, "dz");
  // The conv before the norm (z its output; 3x3, padding 1): its backward reads g with z and
  // applies the rest of the norm's backward itself (apply_output_norm).
  const nn::Shape xs{c.z.n, 3, c.z.h, c.z.w};
  nn::Conv2d before(gpu().device, kernels(), "before", xs, c.z.c, 3, 1);
  before.apply_output_norm(norm.stats());
  nn::Tensor x(gpu().device, xs, "x"), dx(gpu().device, xs, "dx");
  const auto xv = uniform(xs.numel(), -1.0f, 1.0f, stream + 8);
  const auto wv = uniform(before.weight().value.numel(), -0.5f, 0.5f, stream + 9);
  x.upload(xv);
  before.weight().value.upload(wv);
  nn::Shape s = c.z;
  s.n = c.n;
  nn::Shape o = out;
  o.n = c.n;
  const size_t z_count = s.numel(), y_count = o.numel();

  // Training.
  const auto zv = norm_input(c.z, stream + 2);
  const auto dys = uniform(out.numel(), -1.0f, 1.0f, stream + 3);
  z.upload(zv);
  dy.upload(dys);
  const nn::InputNormStep step{.train = true, .clock = &clock, .step = kDropoutStep};
  Graph train;
  norm.record_statistics(train, z, c.n);
  pool.record_forward(train, z, y, c.n, step);
  pool.record_backward(train, z, dy, g, c.n, step);
  norm.record_backward_given(train, z, g, dz, c.n, clock);
  before.record_backward(train, x, g, &dx, c.n, /*reduce_weight=*/true, {}, &z);
  Program train_program(gpu().device, train);
  const auto run_train = [&] {
    for (const nn::Tensor* t : {&y, &g, &dz, &dx, &before.weight().grad}) t->fill(NAN);
    for (nn::Parameter* p : norm.parameters()) p->grad.fill(NAN);
    gpu().device.fill(norm.statistics(), 0x7FC00000u);
    train_program.run();
    std::vector<std::vector<float>> r{y.download(), g.download(), dz.download(), dx.download(),
                                      before.weight().grad.download()};
    std::vector<float> sums(size_t{c.z.n} * c.z.c * 2);
    gpu().device.download(norm.statistics(), std::as_writable_bytes(std::span(sums)));
    r.push_back(sums);
    for (nn::Parameter* p : norm.parameters()) r.push_back(p->grad.download());
    return r;
  };
  enum { kY, kG, kDz, kDx, kDw, kSums, kDgamma, kDbeta };
  const auto got = run_train();

  Vec running_mean(c.z.c, 0.0), running_var(c.z.c, 1.0);
  const Vec z_head = widen(zv, z_count);
  const NormRef ref = reference_norm(c, z_head, affine, true, running_mean, running_var);
  Vec want(y_count), want_da(z_count);
  reference_forward(s, ref.a, want);
  reference_backward(s, ref.a, widen(dys, y_count), want_da);
  const auto [want_g, want_g_all] = through_dropout_and_relu(c, ref, want_da, got[kG], what);
  Vec want_dz(z_count), want_dgamma(affine.gamma.size()), want_dbeta(affine.gamma.size());
  if (c.norm == Norm::kBatch) {
    nn::reference::batchnorm_backward<double>(s, z_head, want_g, affine.gamma, ref.mean, ref.invstd,
                                              want_dz, want_dgamma, want_dbeta);
  } else {
    nn::reference::groupnorm_backward<double>(s, c.groups, z_head, want_g, affine.gamma, ref.mean,
                                              ref.invstd, want_dz, want_dgamma, want_dbeta);
  }
  EXPECT_TRUE(close("training forward " + what, head(got[kY], y_count), want, kKernelTolerance));
  EXPECT_TRUE(close("backward (through the ReLU and dropout) " + what, head(got[kG], z_count),
                    want_g, kKernelTolerance));
  EXPECT_TRUE(
      backward_sums_close("backward " + what, got[kSums], c, z_head, want_g, want_g_all, ref.mean));
  EXPECT_TRUE(close("norm backward (sums given) dz " + what, head(got[kDz], z_count), want_dz,
                    kKernelTolerance));
  if (c.affine) {
    EXPECT_TRUE(close("norm backward dgamma " + what, got[kDgamma], want_dgamma, kKernelTolerance));
    EXPECT_TRUE(close("norm backward dbeta " + what, got[kDbeta], want_dbeta, kKernelTolerance));
  }
  // The conv before, from g and z: its gradients as from the reference's dz.
  nn::Shape xs_n = xs;
  xs_n.n = c.n;
  const nn::reference::Conv2dGeometry geometry{c.n, xs.c, xs.h, xs.w, c.z.c, 3, 1};
  Vec want_dx(xs_n.numel()), want_dw(wv.size());
  nn::reference::conv2d_backward_input<double>(geometry, want_dz, Vec(wv.begin(), wv.end()),
                                               want_dx);
  nn::reference::conv2d_backward_weight<double>(geometry, widen(xv, xs_n.numel()), want_dz,
                                                want_dw);
  EXPECT_TRUE(close("conv before the norm, dx from g and z " + what, head(got[kDx], want_dx.size()),
                    want_dx, kKernelTolerance));
  EXPECT_TRUE(close("conv before the norm, dweight from g and z " + what, got[kDw], want_dw,
                    kKernelTolerance));
  EXPECT_TRUE(untouched_after(got[kDx], want_dx.size())) << what << ": dx past n written";
  for (size_t i : {size_t{kY}, size_t{kG}, size_t{kDz}}) {
    EXPECT_TRUE(untouched_after(got[i], i == kY ? y_count : z_count))
        << what << ": output " << i << " written for samples >= n";
  }
  const auto again = run_train();
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(bitwise_equal(fmt::format("rerun output {} {}", i, what), again[i], got[i]));
  }

  // Eval on another batch (BatchNorm: with uploaded running statistics).
  if (const nn::BatchNorm2d* bn = norm.bn()) {
    upload_running_statistics(*bn, c.z.c, stream + 5, running_mean, running_var);
  }
  const auto ze = norm_input(c.z, stream + 7);
  z.upload(ze);
  y.fill(NAN);
  Graph eval;
  if (c.norm == Norm::kGroup) norm.record_statistics(eval, z, c.n);
  pool.record_forward(eval, z, y, c.n, {.train = false, .clock = &clock, .step = kDropoutStep});
  Program(gpu().device, eval).run();
  const Vec a_eval =
      reference_norm(c, widen(ze, z_count), affine, false, running_mean, running_var).a;
  Vec want_eval(y_count);
  reference_forward(s, a_eval, want_eval);
  const auto got_eval = y.download();
  EXPECT_TRUE(close("eval " + what, head(got_eval, y_count), want_eval, kKernelTolerance));
  EXPECT_TRUE(untouched_after(got_eval, y_count)) << what << ": eval pool wrote samples >= n";
}

TEST_P(NormApplyPoolGpuTest, AvgPoolTrainingAndEvalMatchReference) {
  check_pool<nn::AvgPoolGlobal>(
      GetParam(), "avgpool",
      [](const nn::Shape& s, const Vec& a, Vec& y) {
        nn::reference::avgpool_global_forward<double>(s, a, y);
      },
      [](const nn::Shape& s, const Vec&, const Vec& dy, Vec& da) {
        nn::reference::avgpool_global_backward<double>(s, dy, da);
      });
}

TEST_P(NormApplyPoolGpuTest, MaxPoolTrainingAndEvalMatchReference) {
  check_pool<nn::MaxPool2d>(
      GetParam(), "maxpool",
      [](const nn::Shape& s, const Vec& a, Vec& y) {
        nn::reference::maxpool2d_forward<double>(s, a, y);
      },
      [](const nn::Shape& s, const Vec& a, const Vec& dy, Vec& da) {
        nn::reference::maxpool2d_backward<double>(s, a, dy, da);
      });
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, NormApplyPoolGpuTest,
    ::testing::Values(Case{Norm::kBatch, {5, 8, 7, 7}, 3, 0, true, 0.3f},   // packed
                      Case{Norm::kBatch, {5, 3, 9, 5}, 3, 0, false, 0.2f},  // NCHW, no affine
                      Case{Norm::kBatch, {5, 4, 5, 5}, 5, 0, true, 0.0f},   // packed, no dropout
                      Case{Norm::kGroup, {5, 8, 9, 5}, 3, 2, true, 0.3f},   // packed, 2 groups
                      Case{Norm::kGroup, {5, 6, 7, 7}, 3, 6, true, 0.3f},   // NCHW, InstanceNorm
                      Case{Norm::kGroup, {3, 4, 5, 5}, 2, 1, false, 0.0f},  // packed, LayerNorm
                      Case{Norm::kGroup, {5, 6, 9, 5}, 1, 3, true, 0.2f}),  // NCHW, 3 groups, n 1
    [](const auto& param) { return test::case_name(param.index, name(param.param)); });

}  // namespace
}  // namespace vkm::test
