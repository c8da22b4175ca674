// What the norm-apply tests (tests/nn/norm_apply_{conv,pool}_gpu_test.cpp) share: a case (a
// BatchNorm2d or GroupNorm over an awkward shape, with its ReLU and dropout fused into the kernel
// that reads it), the norm on the device, the norm in the reference (double), and the checks of
// the fused outputs (the conv's plane statistics, the norm's backward sums, the ReLU/dropout
// mask of a gradient).
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/graph.hpp"
#include "nn/layers/batchnorm2d.hpp"
#include "nn/layers/groupnorm.hpp"
#include "nn/layers/norm_apply.hpp"
#include "nn/tensor.hpp"

namespace vkm::test::norm_apply {

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

inline constexpr uint32_t kSalt = 11;  // the norm's dropout salt
inline constexpr double kEps = 1e-5;
inline constexpr double kMomentum = 0.1;

std::string name(const Case& c);
void PrintTo(const Case& c, std::ostream* os);
uint64_t stream_of(const Case& c);

// The first `count` values, as float (device results) or double (reference inputs).
std::vector<float> head(const std::vector<float>& v, size_t count);
Vec widen(const std::vector<float>& v, size_t count);
// Every value past `count` still the NaN the output was poisoned with.
bool untouched_after(const std::vector<float>& v, size_t count);

// The norm's input: each channel its own offset and spread, so that the norm changes the values
// (an identity or a wrong statistic shows) and about half of the values pass the ReLU.
std::vector<float> norm_input(const nn::Shape& s, uint64_t stream);

// BatchNorm2d or GroupNorm with its ReLU and dropout fused, as one.
class DeviceNorm {
 public:
  DeviceNorm(Device& device, const Case& c);
  nn::NormApply apply(bool train) const;
  void record_statistics(Graph& graph, const nn::Tensor& z, uint32_t n) const;
  // The backward from the gradient reaching the normalized value, with the per-plane sums a
  // consumer's backward input wrote into statistics() (Statistics::kGiven).
  void record_backward_given(Graph& graph, const nn::Tensor& z, const nn::Tensor& g,
                             const nn::Tensor& dz, uint32_t n, const Buffer& clock) const;
  const Buffer& statistics() const;
  nn::NormStats stats() const;
  std::vector<nn::Parameter*> parameters();
  const nn::BatchNorm2d* bn() const { return bn_.get(); }

 private:
  std::unique_ptr<nn::BatchNorm2d> bn_;
  std::unique_ptr<nn::GroupNorm> gn_;
};

// Random gamma and beta (uploaded) where the norm is affine; empty (no affine) otherwise.
struct Affine {
  Vec gamma, beta;
};
Affine upload_affine(DeviceNorm& norm, const Case& c, uint64_t stream);

// Random running statistics, far from the initial (0, 1), uploaded to a BatchNorm and returned in
// running_mean / running_var for the reference's eval.
void upload_running_statistics(const nn::BatchNorm2d& bn, size_t channels, uint64_t stream,
                               Vec& running_mean, Vec& running_var);

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
                       Vec& running_mean, Vec& running_var);

// The conv's statistics output [N, C_out] vec2 (mean, M2) of its first n samples' planes vs the
// reference output's own, errors measured against the plane's scale sqrt(M2 / count + mean^2)
// (a mean near zero is as precise as its plane's values allow, not relative to itself).
::testing::AssertionResult plane_statistics_close(const std::string& what,
                                                  const std::vector<float>& got, const Vec& y,
                                                  size_t planes, size_t plane);

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
                                               const Vec& mean);

// The gradient of the activation a, on through the dropout and the ReLU: g, the gradient reaching
// the normalized value, and g_all, as if every element passed (backward_sums_close's scale).
// Where the normalized value is within rounding of 0 the device's ReLU may decide either way:
// there (and only there) its decision is taken from its own output `got` (zero or not).
struct MaskedGradient {
  Vec g, g_all;
};
MaskedGradient through_dropout_and_relu(const Case& c, const NormRef& ref, const Vec& da,
                                        const std::vector<float>& got, const std::string& what);

}  // namespace vkm::test::norm_apply
