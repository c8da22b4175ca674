// What BatchNorm2d and GroupNorm share, which is everything but how a statistic is counted and
// BatchNorm's running estimates: the affine parameters, the buffers of the statistics (per-plane
// partials, norm_finalize.glsl's counters, the saved mean and invstd, the dx coefficients, the
// norm's parameters as data), the kernels of the norm's own passes and their recording. The
// kernels are made on first use: in the training step every norm is applied by the layer that
// reads its output and finished by the layers around it (NormApply, NormStats,
// Conv2d::apply_output_norm), so a model makes none of them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/device.hpp"
#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "nn/layers/norm_affine.hpp"
#include "nn/layers/norm_apply.hpp"
#include "nn/layers/norm_stats.hpp"
#include "nn/shape.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

struct NormConfig {
  const char* kind;  // "batchnorm" or "groupnorm": kernel labels and messages
  // 0: a statistic per channel over the batch (BatchNorm); else per sample and group of this
  // many consecutive channels (GroupNorm).
  uint32_t group_channels = 0;
  bool affine = true;
  bool relu = false;
  FusedDropout dropout;  // after the ReLU, training only
  float eps = 1e-5f;
  float momentum = 0.1f;  // BatchNorm's running statistics
};

class NormPasses {
 public:
  // input: max shape [N, C, H, W]; statistics: how many the largest batch has.
  NormPasses(Device& device, KernelCache& kernels, std::string name, Shape input,
             const NormConfig& config, size_t statistics);

  const std::string& name() const { return name_; }
  const Shape& input() const { return input_; }
  const NormConfig& config() const { return config_; }
  NormAffine& affine() { return affine_; }
  const NormAffine& affine() const { return affine_; }
  const Buffer& partials() const { return partials_; }
  const Buffer& save_mean() const { return save_mean_; }
  const Buffer& save_invstd() const { return save_invstd_; }
  const Buffer& params(bool train) const { return params_[train ? 0 : 1]; }
  // Uploads the parameters of both modes (NormApply::params_data), once the layer can describe
  // itself.
  void upload_params(Device& device, const NormApply& train, const NormApply& eval);

  // The statistics' buffers (NormStats) with these running estimates (placeholders: unused()).
  NormStats stats(const Buffer& running_mean, const Buffer& running_var) const;
  // Throws vkm::Error unless `t` holds at least n samples of the input's [C, H, W].
  void check(const char* op, const Tensor& t, const char* role, uint32_t n) const {
    check_norm_tensor(name_, input_, op, t, role, n);
  }

  // norm_forward_stats, whose last workgroup finishes the statistics, unless kGiven.
  void record_statistics(Graph& graph, const Tensor& x, const NormPush& p, Statistics given,
                         const NormStats& stats) const;
  // norm_forward: y = dropout(relu(norm(x))) as `how` describes it (the saved or the running
  // statistics; dropout with `clock` where how.dropout is on).
  void record_forward(Graph& graph, const Tensor& x, const Tensor& y, const NormPush& p,
                      const NormApply& how, const Buffer* clock, const std::string& label) const;
  // norm_backward_sums (unless kGiven: the producer of dy wrote and finished them), then
  // norm_backward. mask: the fused ReLU and dropout recomputed from x (not with kGiven).
  void record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor& dx,
                       const NormPush& p, const Buffer* clock, Statistics given,
                       const NormApply* mask, const NormStats& stats) const;

 private:
  KernelDesc desc(const char* shader, uint32_t bindings, uint32_t texel_reads) const;
  const Kernel& kernel(const Kernel*& slot, const KernelDesc& desc) const;
  std::array<uint32_t, 3> grid(const NormPush& p) const {
    return {packed_ ? p.planes / 4 : p.planes, 1, 1};
  }

  Device* device_;
  KernelCache* kernels_;
  std::string name_;
  Shape input_;
  NormConfig config_;
  bool packed_;  // its tensors are NC4HW4 (activation_layout of the input)
  bool vec4_;    // planes of a multiple of 4, read as vec4
  NormAffine affine_;
  Buffer partials_;         // [N, C] vec2: per-plane statistics, then per-plane gradient sums
  Buffer save_mean_;        // [statistics]
  Buffer save_invstd_;      // [statistics]
  Buffer coef_;             // [statistics] vec4: dx coefficients
  Buffer forward_counter_;  // norm_finalize.glsl's counters of workgroups done
  Buffer backward_counter_;
  Buffer params_[2];  // NormApplyParams: training, eval
  // Made on first use.
  mutable const Kernel* forward_stats_ = nullptr;
  mutable const Kernel* forward_[2][2] = {};  // [running statistics][dropout]
  mutable const Kernel* backward_sums_ = nullptr;
  mutable const Kernel* backward_[2] = {};  // [mask recomputed]
};

}  // namespace vkm::nn
