// A norm applied by the kernel that reads its output (nn::NormApply, the "input norm" fusion) vs
// the CPU reference: Conv2d's forward (with and without its output planes' statistics), backward
// (both gradients, one pass), and AvgPoolGlobal's and MaxPool2d's forward and backward, each
// reading a BatchNorm2d's or a GroupNorm's input z and computing a = dropout(relu(norm(z))) as it
// loads; the backward to the input going on through the dropout and ReLU and writing (and
// finishing) the norm's backward sums, and the norm's backward from those (Statistics::kGiven).
// Training: the batch's statistics from record_statistics in the same graph, the fused dropout;
// eval: BatchNorm's running statistics, GroupNorm's per-sample ones, nothing dropped. Awkward
// shapes: partial batches, channel counts that are and are not packed (NC4HW4 / NCHW), kernels 3
// and 1, padding, odd non-square planes; groups 1, 2 and C; poisoned outputs, samples past n left
// untouched, bitwise reruns. The reference runs in double from z; a ReLU that flips on a value
// within rounding of 0 changes a only by that value, far below the tolerances (the gradient's mask:
// see the conv test).
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
#include "tests/support/random.hpp"

namespace vkm::test {
namespace {

using Vec = std::vector<double>;

enum class Norm { kBatch, kGroup };

struct Case {
  Norm norm;
  nn::Shape z;      // the norm's input: the built (max) shape [N, C, H, W]
  uint32_t n;       // the batch recorded (<= z.n)
  uint32_t groups;  // GroupNorm: 1 (LayerNorm) .. C (InstanceNorm); BatchNorm: unused
  bool affine;
  float dropout;                       // fused after the ReLU (training only)
  uint32_t c_out = 0, k = 1, pad = 0;  // Conv2d
  bool stats = false;  // the conv's forward also writes its output planes' (mean, M2)
};

constexpr uint32_t kSalt = 11;  // the norm's dropout salt
constexpr double kEps = 1e-5;
constexpr double kMomentum = 0.1;

std::string name(const Case& c) {
  std::string s = c.norm == Norm::kBatch ? "batchnorm" : fmt::format("groupnorm/{}", c.groups);
  s += fmt::format(" {} n={}{}", c.z.str(), c.n, c.affine ? " affine" : "");
  if (c.dropout > 0.0f) s += fmt::format(" dropout {}", c.dropout);
  if (c.c_out > 0) {
    s += fmt::format(" -> conv {} k{} pad{}{}", c.c_out, c.k, c.pad, c.stats ? " +stats" : "");
  }
  return s;
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << name(c);
}

uint64_t stream_of(const Case& c) {
  return c.z.numel() * 131 + c.n * 17 + c.groups * 5 + c.c_out * 3 + c.k +
         (c.norm == Norm::kBatch ? 7919 : 0);
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

// The norm's input: each channel its own offset and spread, so that the norm changes the values
// (an identity or a wrong statistic shows) and about half of the values pass the ReLU.
std::vector<float> norm_input(const nn::Shape& s, uint64_t stream) {
  auto v = uniform(s.numel(), -1.0f, 1.0f, stream);
  const auto offset = uniform(s.c, -1.0f, 1.0f, stream + 1);
  const auto spread = uniform(s.c, 0.5f, 2.0f, stream + 2);
  for (size_t i = 0; i < v.size(); ++i) {
    const size_t c = (i / s.plane()) % s.c;
    v[i] = offset[c] + spread[c] * v[i];
  }
  return v;
}

// BatchNorm2d or GroupNorm with its ReLU and dropout fused, as one.
class DeviceNorm {
 public:
  DeviceNorm(Device& device, const Case& c) {
    const nn::FusedDropout dropout{c.dropout, kSalt};
    if (c.norm == Norm::kBatch) {
      bn_ = std::make_unique<nn::BatchNorm2d>(device, kernels(), "norm", c.z, c.affine, true,
                                              dropout);
    } else {
      gn_ = std::make_unique<nn::GroupNorm>(device, kernels(), "norm", c.z, c.groups, c.affine,
                                            true, dropout);
    }
  }
  nn::NormApply apply(bool train) const { return bn_ ? bn_->apply(train) : gn_->apply(train); }
  void record_statistics(Graph& graph, const nn::Tensor& z, uint32_t n) const {
    if (bn_) {
      bn_->record_statistics(graph, z, n, nn::Statistics::kCompute);
    } else {
      gn_->record_statistics(graph, z, n, nn::Statistics::kCompute);
    }
  }
  // The backward from the gradient reaching the normalized value, with the per-plane sums a
  // consumer's backward input wrote into statistics() (Statistics::kGiven).
  void record_backward_given(Graph& graph, const nn::Tensor& z, const nn::Tensor& g,
                             const nn::Tensor& dz, uint32_t n, const Buffer& clock) const {
    if (bn_) {
      bn_->record_backward(graph, z, g, dz, n, &clock, kDropoutStep, nn::Statistics::kGiven);
    } else {
      gn_->record_backward(graph, z, g, dz, n, &clock, kDropoutStep, nn::Statistics::kGiven);
    }
  }
  const Buffer& statistics() const { return bn_ ? bn_->statistics() : gn_->statistics(); }
  nn::NormStats stats() const { return bn_ ? bn_->stats() : gn_->stats(); }
  std::vector<nn::Parameter*> parameters() { return bn_ ? bn_->parameters() : gn_->parameters(); }
  const nn::BatchNorm2d* bn() const { return bn_.get(); }

 private:
  std::unique_ptr<nn::BatchNorm2d> bn_;
  std::unique_ptr<nn::GroupNorm> gn_;
};

// Random gamma and beta (uploaded) where the norm is affine; empty (no affine) otherwise.
struct Affine {
  Vec gamma, beta;
};
Affine upload_affine(DeviceNorm& norm, const Case& c, uint64_t stream) {
  Affine a;
  if (!c.affine) return a;
  const auto g = uniform(c.z.c, 0.5f, 1.5f, stream);
  const auto b = uniform(c.z.c, -0.5f, 0.5f, stream + 1);
  norm.parameters().at(0)->value.upload(g);
  norm.parameters().at(1)->value.upload(b);
  a.gamma.assign(g.begin(), g.end());
  a.beta.assign(b.begin(), b.end());
  return a;
}

// The norm as the reference sees it, for the first n samples of z ([n, C, H, W]): v = norm(z)
// before the ReLU, a = relu(v) then dropout in training, the dropout mask, and the statistics
// (BatchNorm: per channel; GroupNorm: per sample and group). BatchNorm: training normalizes with
// the batch's statistics and moves running_mean/var as the device does; eval uses them.
// GroupNorm: each sample's group statistics either way.
struct NormRef {
  Vec v, a, mean, invstd;
  std::vector<bool> keep;  // the dropout mask (all kept without dropout, and in eval)
};
NormRef reference_norm(const Case& c, const Vec& z, const Affine& affine, bool train,
                       Vec& running_mean, Vec& running_var) {
  nn::Shape s = c.z;
  s.n = c.n;
  NormRef r{Vec(s.numel()), Vec(s.numel()), {}, {}, std::vector<bool>(s.numel(), true)};
  if (c.norm == Norm::kBatch) {
    r.mean.resize(s.c);
    r.invstd.resize(s.c);
    if (train) {
      nn::reference::batchnorm_forward_train<double>(s, z, affine.gamma, affine.beta, kEps,
                                                     kMomentum, r.v, running_mean, running_var,
                                                     r.mean, r.invstd);
    } else {
      nn::reference::batchnorm_forward_eval<double>(s, z, affine.gamma, affine.beta, running_mean,
                                                    running_var, kEps, r.v);
    }
  } else {
    r.mean.resize(size_t{s.n} * c.groups);
    r.invstd.resize(r.mean.size());
    nn::reference::groupnorm_forward<double>(s, c.groups, z, affine.gamma, affine.beta, kEps, r.v,
                                             r.mean, r.invstd);
  }
  for (size_t i = 0; i < r.v.size(); ++i) r.a[i] = std::max(r.v[i], 0.0);
  if (!train || c.dropout == 0.0f) return r;
  Vec dropped(r.a.size());
  const uint32_t step = nn::global_step(kDropoutClock, kDropoutStep);
  nn::reference::dropout_forward<double>(c.dropout, kDropoutClock.seed, kSalt, step, r.a, dropped);
  r.a = std::move(dropped);
  for (size_t i = 0; i < r.keep.size(); ++i) {
    r.keep[i] = nn::reference::dropout_keep(kDropoutClock.seed, kSalt, step,
                                            static_cast<uint32_t>(i), c.dropout);
  }
  return r;
}

// The conv's statistics output [N, C_out] vec2 (mean, M2) of its first n samples' planes vs the
// reference output's own, errors measured against the plane's scale sqrt(M2 / count + mean^2)
// (a mean near zero is as precise as its plane's values allow, not relative to itself).
::testing::AssertionResult plane_statistics_close(const std::string& what,
                                                  const std::vector<float>& got, const Vec& y,
                                                  size_t planes, size_t plane) {
  double worst_mean = 0.0, worst_m2 = 0.0;  // NaN counts as infinite
  size_t worst_at = 0;
  for (size_t q = 0; q < planes; ++q) {
    double mean = 0.0, m2 = 0.0;
    for (size_t i = 0; i < plane; ++i) mean += y[q * plane + i];
    mean /= static_cast<double>(plane);
    for (size_t i = 0; i < plane; ++i) m2 += (y[q * plane + i] - mean) * (y[q * plane + i] - mean);
    const double scale = std::sqrt(m2 / static_cast<double>(plane) + mean * mean) + 1e-30;
    const auto finite = [](double e) { return std::isnan(e) ? INFINITY : e; };
    const double e_mean = finite(std::abs(got[2 * q] - mean) / scale);
    const double e_m2 = finite(std::abs(got[2 * q + 1] - m2) /
                               (m2 + static_cast<double>(plane) * scale * scale * 1e-7));
    if (e_mean / 1e-5 + e_m2 / 1e-4 > worst_mean / 1e-5 + worst_m2 / 1e-4) worst_at = q;
    worst_mean = std::max(worst_mean, e_mean);
    worst_m2 = std::max(worst_m2, e_m2);
  }
  if (worst_mean <= 1e-5 && worst_m2 <= 1e-4) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << fmt::format(
             "{}: plane statistics: mean error {:.3g} (of the plane's scale, > 1e-5) "
             "or M2 relative error {:.3g} (> 1e-4), worst at plane {}: got ({}, {})",
             what, worst_mean, worst_m2, worst_at, got[2 * worst_at], got[2 * worst_at + 1]);
}

// The norm's per-plane backward sums, vec2 [N, C]: (sum g, sum g * (z - mean)) over each plane
// of the first n samples, g the gradient reaching the normalized value, vs the reference's. Each
// error is measured against the root sum of squares of the plane's terms as they would be with
// every element passed (g_all: the gradient before the ReLU and dropout mask, scaled as kept):
// a plane the mask leaves a few small terms of, or whose sum cancels, is as precise as the
// gradient it was cut from, not relative to itself. One element wrongly masked or passed is an
// error of order 1 / sqrt(plane) of that scale.
::testing::AssertionResult backward_sums_close(const std::string& what,
                                               const std::vector<float>& got, const Case& c,
                                               const Vec& z, const Vec& g, const Vec& g_all,
                                               const Vec& mean) {
  const size_t plane = c.z.plane();
  double worst = 0.0;  // NaN counts as infinite
  size_t worst_at = 0;
  for (size_t q = 0; q < size_t{c.n} * c.z.c; ++q) {
    const size_t sample = q / c.z.c, channel = q % c.z.c;
    const size_t stat =
        c.norm == Norm::kBatch ? channel : sample * c.groups + channel / (c.z.c / c.groups);
    double s1 = 0.0, s2 = 0.0, r1 = 0.0, r2 = 0.0;
    for (size_t i = q * plane; i < (q + 1) * plane; ++i) {
      const double t = g[i] * (z[i] - mean[stat]), t_all = g_all[i] * (z[i] - mean[stat]);
      s1 += g[i];
      s2 += t;
      r1 += g_all[i] * g_all[i];
      r2 += t_all * t_all;
    }
    const double e1 = std::abs(got[2 * q] - s1) / (std::sqrt(r1) + 1e-30);
    const double e2 = std::abs(got[2 * q + 1] - s2) / (std::sqrt(r2) + 1e-30);
    const double e = std::isnan(e1) || std::isnan(e2) ? INFINITY : std::max(e1, e2);
    if (e > worst) {
      worst = e;
      worst_at = q;
    }
  }
  if (worst <= 1e-5) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << fmt::format(
             "{}: norm backward sums: error {:.3g} of the terms' scale (> 1e-5) at "
             "plane {}: got ({}, {})",
             what, worst, worst_at, got[2 * worst_at], got[2 * worst_at + 1]);
}

// The gradient of the activation a, on through the dropout and the ReLU: g, the gradient reaching
// the normalized value, and g_all, as if every element passed (backward_sums_close's scale).
// Where the normalized value is within rounding of 0 the device's ReLU may decide either way:
// there (and only there) its decision is taken from its own output `got` (zero or not).
struct MaskedGradient {
  Vec g, g_all;
};
MaskedGradient through_dropout_and_relu(const Case& c, const NormRef& ref, const Vec& da,
                                        const std::vector<float>& got, const std::string& what) {
  const double drop_scale = 1.0 / (1.0 - static_cast<double>(c.dropout));
  MaskedGradient m{Vec(da.size()), Vec(da.size())};
  size_t ambiguous = 0;
  for (size_t i = 0; i < da.size(); ++i) {
    bool pass = ref.v[i] > 0.0;
    if (std::abs(ref.v[i]) < 1e-5) {
      ++ambiguous;
      pass = got[i] != 0.0f;
    }
    m.g_all[i] = da[i] * drop_scale;
    m.g[i] = pass && ref.keep[i] ? m.g_all[i] : 0.0;
  }
  EXPECT_LE(ambiguous, da.size() / 100) << what << ": too many values at the ReLU's edge";
  return m;
}

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
    const auto rm = uniform(c.z.c, -1.0f, 1.0f, stream + 5);
    const auto rv = uniform(c.z.c, 0.3f, 2.0f, stream + 6);
    bn->running_mean().upload(rm);
    bn->running_var().upload(rv);
    running_mean.assign(rm.begin(), rm.end());
    running_var.assign(rv.begin(), rv.end());
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
    const auto rm = uniform(c.z.c, -1.0f, 1.0f, stream + 5);
    const auto rv = uniform(c.z.c, 0.3f, 2.0f, stream + 6);
    bn->running_mean().upload(rm);
    bn->running_var().upload(rv);
    running_mean.assign(rm.begin(), rm.end());
    running_var.assign(rv.begin(), rv.end());
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
