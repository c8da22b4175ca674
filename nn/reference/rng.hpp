// Counter-based random numbers, bit for bit the same as shaders/common/rng.glsl: a pure function
// of (seed, stream, index). Dropout masks and augmentation angles come from here.
#pragma once

#include <cstdint>

namespace vkm::nn::reference {

constexpr uint32_t rng_mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

constexpr uint32_t rng_u32(uint32_t seed, uint32_t stream, uint32_t index) {
  return rng_mix(index ^ rng_mix(stream ^ rng_mix(seed ^ 0x9e3779b9u)));
}

// Uniform in [0, 1) with 24 random bits (exactly representable: the GPU gets the same float).
inline float rng_uniform(uint32_t seed, uint32_t stream, uint32_t index) {
  return static_cast<float>(rng_u32(seed, stream, index) >> 8) * (1.0f / 16777216.0f);
}

}  // namespace vkm::nn::reference
