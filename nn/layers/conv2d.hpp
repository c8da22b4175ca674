// Conv2d on the device: a convolution without bias, stride 1, zero padding `pad` on every side
// (0 for "valid", (k - 1) / 2 for "same"), any square kernel. Forward, and backward to the input
// and the weight in one pass (the weight gradient as per-lane sums that the update or a reduce
// pass adds in a fixed order: no atomics, bitwise reproducible). One kernel per direction,
// specialised on the channel counts and kernel size (see shaders/conv2d_*.comp), one dispatch
// for all tiles of channels. Optionally the conv applies the norm (+ ReLU + dropout) before it
// to its input as it reads it, and its backward goes on through that norm's ReLU and dropout
// (apply_input_norm): the normalized activation is then never stored.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/device.hpp"
#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "nn/layers/norm_apply.hpp"
#include "nn/layers/weight_partials.hpp"
#include "nn/parameter.hpp"
#include "nn/shape.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

// Shared by conv2d_forward and conv2d_backward: invocation `lane` of `lanes` along x handles
// samples lane, lane + lanes, ... below n, for the channel tile of its workgroup row y (one
// dispatch covers every tile). The image size travels here rather than in specialization
// constants, so layers that differ only in it share their kernels.
struct Conv2dPush {
  uint32_t n;                 // samples in this batch
  uint32_t samples_per_lane;  // ceil(n / lanes)
  uint32_t lanes;             // invocations along x
  uint32_t h, w;              // input size
  uint32_t pad;               // zero padding on every side
  uint32_t step = 0;          // the step within the epoch (a fused input norm's dropout)
};
static_assert(sizeof(Conv2dPush) == 28, "mirrors Push in shaders/conv2d_{forward,backward}.comp");

struct Conv2dBackwardWeightReducePush {
  uint32_t count;   // weights
  uint32_t lanes;   // partial sums per weight (the backward's lanes)
  uint32_t row;     // weights per output channel
  uint32_t tile;    // weights per output channel in an input-channel tile
  uint32_t stride;  // a lane's set of sums
};
static_assert(sizeof(Conv2dBackwardWeightReducePush) == 20,
              "mirrors Push in conv2d_backward_weight_reduce.comp");

class Conv2d {
 public:
  // input: the max shape [N, c_in, H, W]; owns Parameter "<name>.weight" [c_out, c_in, k, k]
  // (zero until the model initialises it).
  Conv2d(Device& device, KernelCache& kernels, std::string name, Shape input, uint32_t c_out,
         uint32_t k, uint32_t pad);

  Shape input_shape() const { return input_; }  // [N, c_in, H, W]
  Shape output_shape() const;                   // [N, c_out, H + 2 pad - k + 1, W + 2 pad - k + 1]
  Parameter& weight() { return weight_; }
  std::vector<Parameter*> parameters() { return {&weight_}; }
  size_t parameter_count() const { return weight_.value.numel(); }

  // From now on x is the input of a norm (+ ReLU + dropout) that this conv applies as it reads
  // x, in forward and backward: `train` in training recordings, `eval` in eval ones
  // (BatchNorm2d / GroupNorm::apply). Its output is never stored.
  void apply_input_norm(const NormApply& train, const NormApply& eval);
  bool applies_input_norm() const { return input_norm_.has_value(); }
  // From now on the output y is the input of a norm (BatchNorm2d / GroupNorm::stats()), and the
  // backward's dy is the gradient reaching that norm's normalized value, as its reader's
  // backward leaves it: the backward turns it into the gradient of y as it reads it (the norm's
  // coefficients, finished by that reader), so the norm's own backward pass is not needed.
  void apply_output_norm(const NormStats& stats);
  bool applies_output_norm() const { return output_norm_.has_value(); }
  // Whether the backward is two dispatches, dx then the weight gradient (see split_backward_).
  bool splits_backward() const { return split_backward_; }

  // x: [N, c_in, H, W] -> y: [N, c_out, H_out, W_out], first n samples. With `stats` (the norm
  // that follows: BatchNorm2d / GroupNorm::stats()), also that norm's forward statistics: each
  // output plane's (mean, M2), merged by the last workgroup into the norm's mean and invstd (and
  // BatchNorm's running estimates), so the norm need not read y nor dispatch anything for them.
  // `in`: how the input norm applies, where there is one.
  void record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n,
                      const NormStats* stats = nullptr, const InputNormStep& in = {}) const;
  // dy: [N, c_out, H_out, W_out]. Writes weight().grad (overwrites, not accumulates) and, when dx
  // is not null, dx: [N, c_in, H, W]: both from one pass over dy, or (splits_backward()) dx and
  // then the weight gradient in a pass of its own. With an input norm, dx goes on through its
  // dropout and ReLU: it is the gradient reaching the normalized value, and the norm's per-plane
  // backward sums are written and finished with it (NormApply::stats: dgamma, dbeta, the dx
  // coefficients; the norm's record_backward, Statistics::kGiven, then applies them).
  // reduce_weight false: stops at the weight gradient's partial sums (weight_partials()), which
  // the caller's update reduces. `in` as in record_forward (training). y: the forward's output,
  // read with dy where the conv applies its output norm's backward (apply_output_norm).
  void record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor* dx,
                       uint32_t n, bool reduce_weight = true, const InputNormStep& in = {},
                       const Tensor* y = nullptr) const;

  WeightPartials weight_partials() const;
  const Buffer& weight_partials_buffer() const { return partials_; }
  // Keeps the partial sums in `view` from now on (at least weight_partials().bytes): a view of a
  // buffer that holds every layer's, bound once by the update.
  void share_weight_partials(Buffer view);

 private:
  // How one direction's work is cut into invocations (chosen once per layer, see conv2d.cpp).
  struct Plan {
    uint32_t tile;       // output (backward: input) channels per invocation
    uint32_t tiles;      // workgroup rows: channels / tile
    uint32_t rows;       // rows per step of the sliding window
    uint32_t max_lanes;  // cap on the invocations along the batch
    // Lanes chosen for the built batch, whatever n a recording takes (the backward: its weight
    // partials keep one layout, so an update can reduce them without knowing n).
    bool fixed_lanes = false;
  };
  // The GPU shape's forward and backward to the input (conv2d_forward_gpu.comp,
  // conv2d_backward_gpu.comp): `slots` invocations per sample, `samples` samples per workgroup of
  // slots * samples, `pixels` pixels per invocation, `tile` channels (output; backward: input) per
  // workgroup row, `tiles` rows.
  struct GpuPlan {
    uint32_t slots = 1, samples = 1, pixels = 1, tile = 1, tiles = 1;
    // The forward: floats of the workgroup's input planes staged in shared memory (STAGE_IN),
    // 0 where they do not fit beside the weights and the reduction scratch.
    uint32_t staged = 0;
  };
  // For a plane of `plane` pixels and `channels` channels of `weights_per_channel` weights each.
  GpuPlan gpu_plan(uint32_t plane, uint32_t channels, uint32_t weights_per_channel,
                   bool packed) const;
  // The GPU shape's weight gradient (conv2d_backward_weight_gpu.comp): one invocation per weight,
  // the batch cut into `chunks` of `samples` (the weight partials' lanes).
  struct GpuWeightPlan {
    uint32_t chunks = 1, samples = 1;
  };
  void check(const char* op, const char* role, const Tensor& t, const Shape& want,
             uint32_t n) const;
  void record_backward_gpu(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor* dx,
                           uint32_t n, const InputNormStep& in,
                           const std::function<void(std::vector<Binding>&)>& add_output_norm) const;
  Conv2dPush push(const Plan& plan, uint32_t n) const;
  // Multiply-adds of the forward over n samples (each gradient takes as many).
  uint64_t forward_macs(uint32_t n) const;
  KernelDesc kernel_desc(const char* shader, const char* tile_name, const Plan& p,
                         uint32_t texel_reads, uint32_t bindings) const;
  // The input norm a recording applies (null without one).
  const NormApply* input_norm(const InputNormStep& in) const {
    return input_norm_ ? &input_norm_->at(in) : nullptr;
  }

  const Device* device_;
  KernelCache* kernels_;
  std::string name_;
  Shape input_;
  uint32_t c_out_, k_, pad_;
  bool cpu_;
  bool gpu_shape_;  // the device's kernels are GPU-shaped (Device::kernel_shape)
  bool packed_in_ = false, packed_out_ = false;  // NC4HW4 input / output (activation_layout)
  Parameter weight_;
  // A conv with more output than input channels (the net's conv1, conv4, conv7) computes its
  // weight gradient in a pass of its own that walks dy (conv2d_backward_weight.comp), and dx
  // alone in conv2d_backward.comp: the fused kernel would reload and re-transform its wide dy
  // window once per input-channel tile. Measured on the Xeon host of docs/bench (the training
  // step profiled, gn, ms): conv1 0.79 vs 0.60, conv4 2.27 vs 1.78, conv7 3.22 vs 2.28 fused vs
  // split; the other convs are faster fused (conv6 0.42 vs 0.69, conv8 0.67 vs 0.94).
  bool split_backward_;
  Plan forward_plan_, backward_plan_, weight_plan_;
  GpuPlan gpu_forward_, gpu_backward_;
  GpuWeightPlan gpu_weight_;
  std::optional<InputNorm> input_norm_;
  std::optional<NormStats> output_norm_;
  // Pipelines are made on first use (lavapipe takes seconds to compile each; a model uses a few
  // of them): `slot` is filled from `desc` with `apply`'s constants.
  const Kernel& kernel(const Kernel*& slot, KernelDesc desc, const NormApply* apply) const;
  mutable const Kernel* forward_[2][2] = {};         // [eval][writes the plane statistics]
  mutable const Kernel* backward_[2] = {};           // [writes dx]
  mutable const Kernel* backward_dx_ = nullptr;      // split_backward_: dx alone
  mutable const Kernel* backward_weight_ = nullptr;  // split_backward_: the weight gradient
  const Kernel* backward_weight_reduce_;
  Buffer partials_;  // the backward's per-lane weight sums (WeightPartials)
  Buffer unused_;    // bound as the statistics of a forward without them
};

}  // namespace vkm::nn
