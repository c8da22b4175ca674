// The optimizer on the device: SGD with momentum, L2 weight decay and L1 in one update kernel
// per parameter or per model (PyTorch's rule, nn/reference/sgd.hpp), the learning rate read per
// step from a device-resident schedule, so a pre-recorded epoch needs nothing from the host.
#pragma once

#include <cstdint>
#include <string>

#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "engine/memory.hpp"
#include "nn/layers/weight_partials.hpp"
#include "nn/parameter.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

struct SgdUpdatePush {
  uint32_t count;            // values in the parameter
  uint32_t step;             // step within the epoch
  uint32_t schedule_length;  // entries in the learning-rate schedule
  float momentum;
  float l2;
  float l1;
};
static_assert(sizeof(SgdUpdatePush) == 24, "mirrors Push in sgd_update.comp");

// One parameter of a segmented update (sgd_update_segments.comp; mirrors its Segment): `count`
// values from `offset` of the flat buffers, their gradient either in the gradient buffer or, where
// `partials` is not kNoPartials, the sum over `lanes` partial sums in the partials buffer
// (nn::WeightPartials' layout, from float `partials` on).
struct SgdSegment {
  static constexpr uint32_t kNoPartials = 0xffffffffu;
  uint32_t offset = 0;
  uint32_t count = 0;
  uint32_t partials = kNoPartials;
  uint32_t lanes = 0;
  uint32_t row = 1;
  uint32_t tile = 1;
  uint32_t stride = 1;
  uint32_t pad = 0;

  // The gradient as `w`'s partial sums, from float `first` of the partials buffer on.
  void take_partials(uint32_t first, const WeightPartials& w) {
    partials = first;
    lanes = w.lanes;
    row = w.row;
    tile = w.tile;
    stride = w.stride;
  }
  WeightPartials layout() const { return {lanes, row, tile, stride, 0}; }
};
static_assert(sizeof(SgdSegment) == 32, "mirrors Segment in sgd_update_segments.comp");

class Sgd {
 public:
  Sgd(KernelCache& kernels, float momentum, float l2, float l1);

  float momentum() const { return momentum_; }
  float l2() const { return l2_; }
  float l1() const { return l1_; }

  // value -= lr * (velocity = momentum * velocity + grad + l2 * value + l1 * sign(value)), in
  // place. velocity: the shape of value, zero-initialised by the caller. lr_schedule: Buffer of
  // float, one learning rate per global step (uploaded once; a step past its end uses the last
  // entry); clock: nn::ClockState; step: the step within the epoch.
  void record_update(Graph& graph, const Parameter& parameter, const Tensor& velocity,
                     const Buffer& lr_schedule, const Buffer& clock, uint32_t step) const;
  // The same over `count` floats of flat buffers: every parameter of a model at once when its
  // values, gradients and velocities each live in one buffer (nn::Model's parameter blocks).
  void record_update(Graph& graph, const Buffer& values, const Buffer& grads,
                     const Buffer& velocities, size_t count, const Buffer& lr_schedule,
                     const Buffer& clock, uint32_t step, const std::string& label) const;
  // The same over `segments` (an uploaded array of SgdSegment, `count` of them, the largest
  // `max_values` values), reducing the gradients that are still partial sums in `partials` and
  // writing them to `grads`: one dispatch for a whole model whose conv layers left their weight
  // gradients unreduced (Conv2d::record_backward with reduce_weight false).
  void record_update(Graph& graph, const Buffer& values, const Buffer& grads,
                     const Buffer& velocities, const Buffer& partials, const Buffer& segments,
                     uint32_t count, uint32_t max_values, const Buffer& lr_schedule,
                     const Buffer& clock, uint32_t step, const std::string& label) const;

 private:
  float momentum_;
  float l2_;
  float l1_;
  const Kernel* kernel_;
  const Kernel* segments_kernel_;
};

}  // namespace vkm::nn
