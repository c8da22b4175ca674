// GroupNorm on the device (PyTorch semantics; LayerNorm over (C, H, W) is one group), with an
// optional fused ReLU and dropout: each sample's C / groups consecutive channels are normalized
// together, then scaled and shifted per channel. The kernels are the norm family's
// (shaders/norm_*.comp, shared with BatchNorm2d: a statistic here spans a sample's group). At
// most two dispatches per direction:
//   forward:  norm_forward_stats (per plane; its last workgroup merges the planes into the saved
//             mean/invstd per group, norm_finalize.glsl; skipped when the conv before wrote and
//             finished them: stats()) -> norm_forward (y; skipped where the layer that reads y
//             applies the norm itself as it reads x: apply(), nn/layers/norm_apply.hpp)
//   backward: norm_backward_sums (per plane; its last workgroup writes the dx coefficients per
//             group and dgamma, dbeta per channel; skipped when the conv that read the output
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

class GroupNorm {
 public:
  // input: max shape [N, C, H, W]; groups must divide C (else vkm::Error naming both).
  // Parameters "<name>.weight" (gamma, init 1) and "<name>.bias" (beta, init 0) when affine, [C]
  // each, stored as Shape{C, 1, 1, 1}. No running statistics.
  // dropout: fused after the ReLU in training (needs relu).
  GroupNorm(Device& device, KernelCache& kernels, std::string name, Shape input, uint32_t groups,
            bool affine, bool relu, FusedDropout dropout = {}, float eps = 1e-5f);

  Shape output_shape() const { return passes_.input(); }                          // [N, C, H, W]
  std::vector<Parameter*> parameters() { return passes_.affine().parameters(); }  // or {}
  size_t parameter_count() const { return passes_.affine().parameter_count(); }

  // x, y: [N, C, H, W], first n samples. Saves each group's mean and invstd for record_backward.
  // Training with dropout: clock (nn::ClockState) + step choose the mask; without a clock (eval)
  // nothing is dropped.
  // stats: kGiven when statistics() already holds the batch's per-plane (mean, M2).
  void record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n,
                      const Buffer* clock = nullptr, uint32_t step = 0,
                      Statistics stats = Statistics::kCompute) const;
  // The statistics part of record_forward alone (each group's mean and invstd saved): for a
  // consumer that applies the norm as it reads x (apply()).
  void record_statistics(Graph& graph, const Tensor& x, uint32_t n,
                         Statistics stats = Statistics::kCompute) const;
  // The norm, its ReLU and (train) its dropout as a consumer applies them, with the statistics
  // the same batch's record_statistics saved.
  NormApply apply(bool train) const;
  // vec2 [N, C]: each plane's (mean, M2), for a producer that computes them (Statistics::kGiven).
  const Buffer& statistics() const { return passes_.partials(); }
  // What a producer of the per-plane parts binds to finish the statistics itself
  // (Statistics::kGiven): Conv2d's forward (statistics) and backward (sums).
  NormStats stats() const;
  // Uses the statistics saved by the record_forward of the same step. dy: the gradient of this
  // layer's output; with the fused ReLU and dropout, their mask is recomputed from x (clock and
  // step as in the forward). Writes (overwrites) weight/bias grads when affine.
  // sums kGiven: the layer that read this norm's output went on through its ReLU and dropout
  // (Conv2d with apply()): dy is the gradient reaching the normalized value, and statistics()
  // holds its per-plane backward sums.
  void record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor& dx,
                       uint32_t n, const Buffer* clock = nullptr, uint32_t step = 0,
                       Statistics sums = Statistics::kCompute) const;

 private:
  NormPush push(uint32_t n) const;
  NormApply describe(bool train) const;  // apply() without its check for the fused ReLU

  uint32_t groups_;
  NormPasses passes_;
};

}  // namespace vkm::nn
