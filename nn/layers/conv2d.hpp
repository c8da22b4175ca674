// Conv2d on the device: a convolution without bias, stride 1, zero padding `pad` on every side
// (0 for "valid", (k - 1) / 2 for "same"), any square kernel. Forward, backward to the input and
// backward to the weight (two passes, no atomics: bitwise reproducible), each one kernel per
// layer with the layer's shapes as specialization constants (see shaders/conv2d_*.comp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/device.hpp"
#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "nn/parameter.hpp"
#include "nn/shape.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

struct Conv2dPush {
  uint32_t n;  // samples in this batch
};
static_assert(sizeof(Conv2dPush) == 4,
              "mirrors Push in conv2d_forward.comp, conv2d_backward_input.comp");

struct Conv2dBackwardWeightPush {
  uint32_t n;                 // samples in this batch
  uint32_t samples_per_lane;  // ceil(n / lanes)
  uint32_t lanes;             // invocations along x
};
static_assert(sizeof(Conv2dBackwardWeightPush) == 12,
              "mirrors Push in conv2d_backward_weight.comp");

struct Conv2dBackwardWeightReducePush {
  uint32_t count;  // weights
  uint32_t sets;   // partial sums per weight (the backward weight's lanes)
};
static_assert(sizeof(Conv2dBackwardWeightReducePush) == 8,
              "mirrors Push in conv2d_backward_weight_reduce.comp");

class Conv2d {
 public:
  // input: the max shape [N, c_in, H, W]; owns Parameter "<name>.weight" [c_out, c_in, k, k],
  // initialised as PyTorch does (reset_parameters(0)).
  Conv2d(Device& device, KernelCache& kernels, std::string name, Shape input, uint32_t c_out,
         uint32_t k, uint32_t pad);

  Shape input_shape() const { return input_; }  // [N, c_in, H, W]
  Shape output_shape() const;                   // [N, c_out, H + 2 pad - k + 1, W + 2 pad - k + 1]
  Parameter& weight() { return weight_; }
  std::vector<Parameter*> parameters() { return {&weight_}; }
  size_t parameter_count() const { return weight_.value.numel(); }

  // PyTorch's default: weight uniform in +-1 / sqrt(c_in * k * k), a pure function of (seed, name).
  void reset_parameters(uint32_t seed);

  // x: [N, c_in, H, W] -> y: [N, c_out, H_out, W_out], first n samples.
  void record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n) const;
  // dy: [N, c_out, H_out, W_out]. Writes weight().grad (overwrites, not accumulates) and, when dx
  // is not null, dx: [N, c_in, H, W].
  void record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor* dx,
                       uint32_t n) const;

 private:
  // How the work is cut into invocations (chosen once per layer, see conv2d.cpp).
  struct Plan {
    uint32_t tile;  // output (or, backward to the input, input) channels per invocation
    uint32_t rows;  // output rows per step of the sliding window
    uint32_t band;  // output rows per workgroup z
  };
  void check(const char* op, const char* role, const Tensor& t, const Shape& want,
             uint32_t n) const;
  uint32_t max_weight_lanes() const;  // partial sums sets of the backward weight at batch N

  std::string name_;
  Shape input_;
  uint32_t c_out_, k_, pad_;
  Parameter weight_;
  Plan forward_plan_, input_plan_, weight_plan_;
  const Kernel* forward_;
  const Kernel* backward_input_;
  const Kernel* backward_weight_;
  const Kernel* backward_weight_reduce_;
  Buffer partials_;  // [max_weight_lanes(), c_out, c_in, k, k]
};

}  // namespace vkm::nn
