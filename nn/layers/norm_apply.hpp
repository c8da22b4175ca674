// A norm layer's forward (+ its ReLU and dropout) as another kernel applies it to the values it
// reads (shaders/common/norm_apply.glsl): the next conv's forward and backward, the global
// average pool and the norm's own backward kernels read the norm's input z and compute the
// activation on the fly, so it is never stored. BatchNorm2d::apply / GroupNorm::apply describe
// one; the consumer adds its constants to its kernels and its buffers to its bindings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/device.hpp"
#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "engine/memory.hpp"
#include "nn/layers/norm_affine.hpp"
#include "nn/layers/norm_stats.hpp"

namespace vkm::nn {

// NormParams of shaders/common/norm_params.glsl (std430): what of a norm its readers need as data.
struct NormApplyParams {
  uint32_t group_channels;
  uint32_t affine;
  uint32_t eval;
  float eps;
  float drop_p;
  float drop_scale;
  uint32_t drop_salt;
  float momentum;  // BatchNorm's running statistics (norm_finalize.glsl)
};
static_assert(sizeof(NormApplyParams) == 32,
              "mirrors NormParams in shaders/common/norm_params.glsl");

struct NormApply {
  // 0: a statistic per channel over the batch (BatchNorm); else per sample and group of this many
  // consecutive channels (GroupNorm).
  uint32_t group_channels = 0;
  bool affine = false;
  bool eval = false;  // BatchNorm in eval: spread is the running variance
  float eps = 1e-5f;
  float momentum = 0.1f;           // BatchNorm's running statistics
  FusedDropout dropout;            // after the ReLU; off (p = 0) in eval
  const Buffer* mean = nullptr;    // [statistics]
  const Buffer* spread = nullptr;  // invstd [statistics], or the running variance (eval)
  const Buffer* gamma = nullptr;   // [C], or a placeholder without affine
  const Buffer* beta = nullptr;
  const Buffer* unused = nullptr;  // bound as the clock without dropout
  const Buffer* params = nullptr;  // NormApplyParams of the fields above (upload_norm_apply_params)
  // Training: the norm's statistics, whose backward sums a consumer's backward to its input
  // (Conv2d) writes and finishes as it goes through the ReLU and dropout.
  NormStats stats;

  // Specialization constants 30 (NA_ON) and 35 (NA_DROPOUT) of norm_apply.glsl: the rest is
  // data (params), so layers whose norms differ only in kind, groups or salt share pipelines.
  KernelDesc& add_constants(KernelDesc& desc) const;
  // Appends the six bindings from NA_BINDING: mean, spread, gamma, beta, clock, params. Throws
  // vkm::Error when dropout is on and `clock` is null.
  void add_bindings(std::vector<Binding>& bindings, const Buffer* clock) const;
  NormApplyParams params_data() const;
};

// How one recording of a layer that applies its input's norm (Conv2d, AvgPoolGlobal:
// apply_input_norm) applies it.
struct InputNormStep {
  bool train = true;              // the batch's statistics and dropout; false: eval
  const Buffer* clock = nullptr;  // training with dropout: the clock (nn::ClockState)
  uint32_t step = 0;              // the step within the epoch (the dropout mask)
};

// A layer's input norm in both modes (Conv2d, AvgPoolGlobal::apply_input_norm).
struct InputNorm {
  NormApply train, eval;
  const NormApply& at(const InputNormStep& in) const { return in.train ? train : eval; }
};

// Appends the six bindings of norm_apply.glsl: `apply`'s (NormApply::add_bindings), or `unused`
// six times where it is null (a kernel that declares them but applies nothing).
void add_norm_apply_bindings(std::vector<Binding>& bindings, const NormApply* apply,
                             const Buffer* clock, const Buffer& unused);

// A device buffer holding `apply`'s NormApplyParams (a norm layer keeps one per mode).
Buffer upload_norm_apply_params(Device& device, const NormApply& apply, const std::string& name);

}  // namespace vkm::nn
