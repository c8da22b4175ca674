// BatchNorm2d on the device (PyTorch semantics), with an optional fused ReLU and dropout. Training
// forward normalizes with the batch's per-channel statistics and moves the running estimates
// (unbiased variance, momentum); eval forward uses the running estimates; backward gives dx and,
// when affine, dgamma and dbeta. The kernels are the norm family's (shaders/norm_*.comp, shared
// with GroupNorm: a statistic here spans one channel over the batch). At most two dispatches per
// training direction, one for eval:
//   forward:  norm_forward_stats (per plane; its last workgroup merges the planes into the saved
//             mean/invstd and moves the running statistics, norm_finalize.glsl; skipped when the
//             conv before wrote and finished them: stats()) ->
//             norm_forward (y; skipped where the layer that reads y applies the norm itself as
//             it reads x: apply(), nn/layers/norm_apply.hpp)
//   backward: norm_backward_sums (per plane; its last workgroup writes dgamma, dbeta and the dx
//             coefficients with gamma folded in; skipped when the conv that read the output
//             wrote them) -> norm_backward (dx); both recompute the fused ReLU and dropout mask
//             from x rather than read y.
// All reductions run in a fixed order without float atomics: reruns are bitwise identical.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/device.hpp"
#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "nn/layers/norm_affine.hpp"
#include "nn/layers/norm_apply.hpp"
#include "nn/layers/norm_passes.hpp"
#include "nn/parameter.hpp"
#include "nn/shape.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

class BatchNorm2d {
 public:
  // input: max shape [N, C, H, W]. Parameters "<name>.weight" (gamma, init 1) and "<name>.bias"
  // (beta, init 0) when affine; running statistics "<name>.running_mean" (init 0) and
  // "<name>.running_var" (init 1). All four are [C], stored as Shape{C, 1, 1, 1}.
  // dropout: fused after the ReLU in training (needs relu).
  BatchNorm2d(Device& device, KernelCache& kernels, std::string name, Shape input, bool affine,
              bool relu, FusedDropout dropout = {}, float eps = 1e-5f, float momentum = 0.1f);

  Shape output_shape() const { return passes_.input(); }                          // [N, C, H, W]
  std::vector<Parameter*> parameters() { return passes_.affine().parameters(); }  // or {}
  size_t parameter_count() const { return passes_.affine().parameter_count(); }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }
  // vec2 [N, C]: each plane's (mean, M2) in the forward, its backward sums in the backward.
  const Buffer& statistics() const { return passes_.partials(); }
  // What a producer of the per-plane parts binds to finish the statistics itself
  // (Statistics::kGiven): Conv2d's forward (statistics) and backward (sums).
  NormStats stats() const;

  // x, y: [N, C, H, W], first n samples. Also updates the running statistics and saves the
  // batch's mean and invstd for record_backward. With dropout, y is the dropped activation and
  // clock (nn::ClockState) + step choose the mask.
  // stats: kGiven when statistics() already holds the batch's per-plane (mean, M2).
  void record_forward_train(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n,
                            const Buffer* clock = nullptr, uint32_t step = 0,
                            Statistics stats = Statistics::kCompute) const;
  // The statistics part of record_forward_train alone (the running statistics move, the batch's
  // are saved): for a consumer that applies the norm as it reads x (apply(true)).
  void record_statistics(Graph& graph, const Tensor& x, uint32_t n,
                         Statistics stats = Statistics::kCompute) const;
  // The norm, its ReLU and (training) its dropout as a consumer applies them: training uses the
  // statistics the same step's record_statistics saved, eval the running estimates.
  NormApply apply(bool train) const;
  void record_forward_eval(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n) const;
  // Uses the statistics saved by the record_forward_train of the same step. dy: the gradient of
  // this layer's output; with the fused ReLU and dropout, their mask is recomputed from x (clock
  // and step as in the forward). Writes (overwrites) weight/bias grads when affine.
  // sums kGiven: the layer that read this norm's output went on through its ReLU and dropout
  // (Conv2d with apply()): dy is the gradient reaching the normalized value, and statistics()
  // holds its per-plane backward sums.
  void record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor& dx,
                       uint32_t n, const Buffer* clock = nullptr, uint32_t step = 0,
                       Statistics sums = Statistics::kCompute) const;

 private:
  NormPush push(uint32_t n) const;
  NormApply describe(bool train) const;  // apply() without its check for the fused ReLU

  NormPasses passes_;
  Tensor running_mean_;
  Tensor running_var_;
};

}  // namespace vkm::nn
