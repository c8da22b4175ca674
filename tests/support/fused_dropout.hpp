// The reference of the dropout the norms fuse after their ReLU (nn::FusedDropout), for the norm
// tests: the run's clock, and the forward and backward masks drawn from nn/reference's dropout.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/device.hpp"
#include "nn/clock.hpp"
#include "nn/layers/norm_affine.hpp"
#include "nn/reference/activation.hpp"

namespace vkm::test {

// Epoch 1 of 5 steps, step 2: global step 7, seed 77.
inline constexpr nn::ClockState kDropoutClock{.epoch = 1, .steps_per_epoch = 5, .seed = 77};
inline constexpr uint32_t kDropoutStep = 2;

inline Buffer dropout_clock(Device& device) {
  Buffer b = device.buffer(sizeof(nn::ClockState), "clock");
  device.upload(b, std::as_bytes(std::span(&kDropoutClock, 1)));
  return b;
}

// y (after the ReLU) -> dropout(y); g (the upstream gradient) -> its gradient before dropout.
// The mask comes from the reference (not from the device's output), so a wrong mask fails y.
inline void fused_dropout_reference(const nn::FusedDropout& d, std::vector<double>& y,
                                    std::vector<double>& g) {
  if (!d.on()) return;
  const uint32_t step = nn::global_step(kDropoutClock, kDropoutStep);
  const double scale = 1.0 / (1.0 - double{d.p});
  for (size_t i = 0; i < y.size(); ++i) {
    const bool keep = nn::reference::dropout_keep(kDropoutClock.seed, d.salt, step,
                                                  static_cast<uint32_t>(i), d.p);
    y[i] = keep ? y[i] * scale : 0.0;
    g[i] = keep ? g[i] * scale : 0.0;
  }
}

}  // namespace vkm::test
