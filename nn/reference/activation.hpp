// CPU reference of the elementwise activations: ReLU and dropout, forward and backward. The
// dropout mask is a pure function of (seed, layer salt, global step, element) drawn from the
// counter-based RNG (rng.hpp == shaders/common/rng.glsl), so the backward pass and the device
// regenerate it instead of storing it.
#pragma once

#include <cstdint>
#include <span>

namespace vkm::nn::reference {

// y = max(x, 0)
template <typename T>
void relu_forward(std::span<const T> x, std::span<T> y);

// dx = y > 0 ? dy : 0 (from the forward's output, so the input need not be kept)
template <typename T>
void relu_backward(std::span<const T> y, std::span<const T> dy, std::span<T> dx);

// Keep iff rng_uniform(seed ^ salt, global_step, index) >= p; index = flat NCHW index.
bool dropout_keep(uint32_t seed, uint32_t salt, uint32_t global_step, uint32_t index, float p);

// y = keep ? x / (1 - p) : 0 (inverted dropout: the expectation of y is x)
template <typename T>
void dropout_forward(float p, uint32_t seed, uint32_t salt, uint32_t global_step,
                     std::span<const T> x, std::span<T> y);

// dx = keep ? dy / (1 - p) : 0, with the forward's mask
template <typename T>
void dropout_backward(float p, uint32_t seed, uint32_t salt, uint32_t global_step,
                      std::span<const T> dy, std::span<T> dx);

}  // namespace vkm::nn::reference
