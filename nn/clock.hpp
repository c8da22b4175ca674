// Clock: the small device-side state that changes between epochs of a pre-recorded training
// program (the host writes it before each epoch; nothing else changes). Kernels that need the
// global step (dropout masks, augmentation angles, learning rate) bind it and add the step
// within the epoch, which they get as a push constant. Mirrored by shaders/common/clock.glsl.
#pragma once

#include <cstdint>

namespace vkm::nn {

struct ClockState {
  uint32_t epoch = 0;  // 0-based
  uint32_t steps_per_epoch = 0;
  uint32_t seed = 0;  // the run's seed
  uint32_t pad = 0;
};
static_assert(sizeof(ClockState) == 16, "mirrors Clock in shaders/common/clock.glsl");

inline uint32_t global_step(const ClockState& clock, uint32_t step) {
  return clock.epoch * clock.steps_per_epoch + step;
}

}  // namespace vkm::nn
