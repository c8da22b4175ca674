// The norm-apply tests' shared case, device norm, reference norm and checks.
#include "tests/support/norm_apply_fixture.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "nn/clock.hpp"
#include "nn/reference/activation.hpp"
#include "nn/reference/batchnorm.hpp"
#include "nn/reference/groupnorm.hpp"
#include "tests/support/fused_dropout.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/random.hpp"

namespace vkm::test::norm_apply {
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

DeviceNorm::DeviceNorm(Device& device, const Case& c) {
  const nn::FusedDropout dropout{c.dropout, kSalt};
  if (c.norm == Norm::kBatch) {
    bn_ =
        std::make_unique<nn::BatchNorm2d>(device, kernels(), "norm", c.z, c.affine, true, dropout);
  } else {
    gn_ = std::make_unique<nn::GroupNorm>(device, kernels(), "norm", c.z, c.groups, c.affine, true,
                                          dropout);
  }
}
nn::NormApply DeviceNorm::apply(bool train) const {
  return bn_ ? bn_->apply(train) : gn_->apply(train);
}
void DeviceNorm::record_statistics(Graph& graph, const nn::Tensor& z, uint32_t n) const {
  if (bn_) {
    bn_->record_statistics(graph, z, n, nn::Statistics::kCompute);
  } else {
    gn_->record_statistics(graph, z, n, nn::Statistics::kCompute);
  }
}
void DeviceNorm::record_backward_given(Graph& graph, const nn::Tensor& z, const nn::Tensor& g,
                                       const nn::Tensor& dz, uint32_t n,
                                       const Buffer& clock) const {
  if (bn_) {
    bn_->record_backward(graph, z, g, dz, n, &clock, kDropoutStep, nn::Statistics::kGiven);
  } else {
    gn_->record_backward(graph, z, g, dz, n, &clock, kDropoutStep, nn::Statistics::kGiven);
  }
}
const Buffer& DeviceNorm::statistics() const {
  return bn_ ? bn_->statistics() : gn_->statistics();
}
nn::NormStats DeviceNorm::stats() const {
  return bn_ ? bn_->stats() : gn_->stats();
}
std::vector<nn::Parameter*> DeviceNorm::parameters() {
  return bn_ ? bn_->parameters() : gn_->parameters();
}

// Random gamma and beta (uploaded) where the norm is affine; empty (no affine) otherwise.
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
void upload_running_statistics(const nn::BatchNorm2d& bn, size_t channels, uint64_t stream,
                               Vec& running_mean, Vec& running_var) {
  const auto rm = uniform(channels, -1.0f, 1.0f, stream);
  const auto rv = uniform(channels, 0.3f, 2.0f, stream + 1);
  bn.running_mean().upload(rm);
  bn.running_var().upload(rv);
  running_mean.assign(rm.begin(), rm.end());
  running_var.assign(rv.begin(), rv.end());
}

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

}  // namespace vkm::test::norm_apply
