// Elementwise activation layers on the device: Relu and Dropout, forward and backward. Built for
// a maximum batch; each record_* takes the actual batch n and touches n * C*H*W elements.
// Dropout's mask is a pure function of (run seed, global step, layer salt, element) drawn from
// the counter-based RNG (shaders/common/rng.glsl): regenerated in backward, never stored.
#pragma once

#include <cstdint>

#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "engine/memory.hpp"
#include "nn/shape.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

struct ReluPush {
  uint32_t count;  // elements: n * C*H*W
};
static_assert(sizeof(ReluPush) == 4, "mirrors Push in relu_{forward,backward}.comp");

struct DropoutPush {
  uint32_t count;  // elements: n * C*H*W
  uint32_t step;   // step within the epoch
  uint32_t salt;
  float rate;   // drop probability p
  float scale;  // 1 / (1 - p)
};
static_assert(sizeof(DropoutPush) == 20, "mirrors Push in dropout_{forward,backward}.comp");

class Relu {
 public:
  // input: [N, C, H, W]; N is the largest batch recorded.
  Relu(KernelCache& kernels, Shape input);

  Shape output_shape() const { return input_; }
  size_t parameter_count() const { return 0; }

  // y = max(x, 0); x, y: [N, C, H, W]
  void record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n) const;
  // dx = y > 0 ? dy : 0, from the forward's output y
  void record_backward(Graph& graph, const Tensor& y, const Tensor& dy, const Tensor& dx,
                       uint32_t n) const;

 private:
  Shape input_;
  const Kernel* forward_;
  const Kernel* backward_;
};

class Dropout {
 public:
  // p: drop probability in [0, 1); salt distinguishes the layers (e.g. the layer's index).
  Dropout(KernelCache& kernels, Shape input, float p, uint32_t salt);

  Shape output_shape() const { return input_; }
  size_t parameter_count() const { return 0; }
  float rate() const { return p_; }
  uint32_t salt() const { return salt_; }

  // y = keep ? x / (1 - p) : 0 with keep = rng_uniform(seed ^ salt, global step, i) >= p.
  // clock: Buffer holding nn::ClockState; step: the step within the epoch.
  void record_forward(Graph& graph, const Tensor& x, const Tensor& y, const Buffer& clock,
                      uint32_t step, uint32_t n) const;
  // dx = keep ? dy / (1 - p) : 0 with the same mask (same clock and step as the forward).
  void record_backward(Graph& graph, const Tensor& dy, const Tensor& dx, const Buffer& clock,
                       uint32_t step, uint32_t n) const;

 private:
  void record(Graph& graph, const Kernel& kernel, const char* label, const Tensor& in,
              const Tensor& out, const Buffer& clock, uint32_t step, uint32_t n) const;

  Shape input_;
  float p_;
  uint32_t salt_;
  const Kernel* forward_;
  const Kernel* backward_;
};

}  // namespace vkm::nn
