// Pooling layers on the device: MaxPool2d (2x2, stride 2, floor for odd sizes, as PyTorch) and
// AvgPoolGlobal (the mean of each H x W plane), forward and backward. Built for a maximum batch;
// each record_* takes the actual batch n and touches only the first n samples.
#pragma once

#include <cstdint>
#include <optional>

#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "nn/layers/norm_apply.hpp"
#include "nn/shape.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

struct MaxPool2dPush {
  uint32_t rows;  // n * C * out_h (n * C/4 * out_h where the input is NC4HW4)
  uint32_t in_h;
  uint32_t in_w;
  uint32_t out_h;
  uint32_t out_w;
  uint32_t step;      // the step within the epoch (a fused input norm's dropout)
  uint32_t channels;  // C
  uint32_t pad = 0;
};
static_assert(sizeof(MaxPool2dPush) == 32, "mirrors Push in maxpool2d_{forward,backward}.comp");

struct AvgPoolGlobalPush {
  uint32_t planes;    // n * C (n * C / 4 packed)
  uint32_t plane;     // H * W
  float inv_plane;    // 1 / (H * W)
  uint32_t step;      // the step within the epoch (a fused input norm's dropout)
  uint32_t channels;  // C
};
static_assert(sizeof(AvgPoolGlobalPush) == 20,
              "mirrors Push in avgpool_global_{forward,backward}.comp");

class MaxPool2d {
 public:
  // input: [N, C, H, W] with H, W >= 2; N is the largest batch recorded.
  MaxPool2d(KernelCache& kernels, Shape input);

  Shape output_shape() const {
    return {input_.n, input_.c, input_.h / 2, input_.w / 2};
  }  // [N, C, H/2, W/2]
  size_t parameter_count() const { return 0; }

  // From now on x is the input of a norm (+ ReLU + dropout) that the pool applies as it reads x
  // (BatchNorm2d / GroupNorm::apply): `train` in training recordings, `eval` in eval ones. The
  // norm's output is then never stored.
  void apply_input_norm(const NormApply& train, const NormApply& eval);

  // x: [N, C, H, W] -> y: [N, C, H/2, W/2]; `in`: how the input norm applies, where there is one.
  void record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n,
                      const InputNormStep& in = {}) const;
  // dy: [N, C, H/2, W/2] -> dx: [N, C, H, W], to the first maximum of each window (x: the
  // input). With an input norm (training), the maxima are the norm's activations and dx goes on
  // through its ReLU and dropout: the gradient reaching the normalized value, with the norm's
  // backward sums written and finished (NormApply::stats; the norm's record_backward with
  // Statistics::kGiven applies them).
  void record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor& dx,
                       uint32_t n, const InputNormStep& in = {}) const;

 private:
  // Whether the device's kernels are GPU-shaped (Device::kernel_shape).
  bool gpu_shape() const { return kernels_->device().kernel_shape() == KernelShape::kGpu; }
  MaxPool2dPush push(uint32_t n, uint32_t step) const;

  Shape input_;
  KernelCache* kernels_;
  std::optional<InputNorm> input_norm_;
  // Made on first use: forward [training or no norm, eval], backward.
  mutable const Kernel* forward_[2] = {};
  mutable const Kernel* backward_ = nullptr;
  Buffer unused_;  // the input norm's and its statistics' placeholders without one
};

class AvgPoolGlobal {
 public:
  // input: [N, C, H, W]; N is the largest batch recorded.
  AvgPoolGlobal(KernelCache& kernels, Shape input);

  Shape output_shape() const { return {input_.n, input_.c, 1, 1}; }  // [N, C, 1, 1]
  size_t parameter_count() const { return 0; }

  // From now on x is the input of a norm (+ ReLU + dropout) that the forward applies as it reads
  // x (BatchNorm2d / GroupNorm::apply): `train` in training recordings, `eval` in eval ones.
  void apply_input_norm(const NormApply& train, const NormApply& eval);

  // x: [N, C, H, W] -> y: [N, C, 1, 1]; `in`: how the input norm applies, where there is one.
  void record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n,
                      const InputNormStep& in = {}) const;
  // dy: [N, C, 1, 1] -> dx: [N, C, H, W] (x: the input). With an input norm (training), dx goes
  // on through its ReLU and dropout: the gradient reaching the normalized value, with the
  // norm's backward sums written and finished (as MaxPool2d's).
  void record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor& dx,
                       uint32_t n, const InputNormStep& in = {}) const;

 private:
  AvgPoolGlobalPush push(uint32_t n) const;

  Shape input_;
  std::optional<InputNorm> input_norm_;
  KernelCache* kernels_;
  // Made on first use: forward [training or no norm, eval], backward.
  mutable const Kernel* forward_[2] = {};
  mutable const Kernel* backward_ = nullptr;
  Buffer unused_;  // the input norm's and its statistics' placeholders without one
};

}  // namespace vkm::nn
