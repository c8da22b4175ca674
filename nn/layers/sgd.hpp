// The optimizer on the device: SGD with momentum, L2 weight decay and L1 in one update kernel
// per parameter (PyTorch's rule, nn/reference/sgd.hpp), the learning rate read per step from a
// device-resident schedule, so a pre-recorded epoch needs nothing from the host.
#pragma once

#include <cstdint>
#include <string>

#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "engine/memory.hpp"
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

 private:
  float momentum_;
  float l2_;
  float l1_;
  const Kernel* kernel_;
};

}  // namespace vkm::nn
