// Where a conv's backward pass leaves its per-lane sums of the weight gradient
// (shaders/conv2d_backward.comp), for whoever adds them up: the conv's own reduce pass, the
// model's single update dispatch (sgd_update_segments.comp), and the host in tests and vkbench.
// Each input-channel tile holds, per lane, the sums of [c_out, the tile's channels, k, k]
// weights, padded to `stride` floats (shaders/common/weight_partials.glsl computes the same index).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vkm::nn {

struct WeightPartials {
  uint32_t lanes = 0;   // sums per weight
  uint32_t row = 1;     // weights per output channel: c_in * k * k
  uint32_t tile = 1;    // weights per output channel in a tile: tile channels * k * k
  uint32_t stride = 1;  // a lane's set: c_out * tile rounded up to a multiple of 4
  size_t bytes = 0;     // [tiles, lanes, stride] floats

  // Lane `lane`'s sum for weight i (OIHW), in floats from the first.
  size_t at(size_t i, uint32_t lane) const {
    const size_t o = i / row, r = i - o * row, t = r / tile;
    return (t * lanes + lane) * stride + o * tile + (r - t * tile);
  }
  // The gradient of weight i: its lanes' sums added in lane order, in float, as the device does.
  float sum(std::span<const float> sums, size_t i) const {
    float s = 0.0f;
    for (uint32_t l = 0; l < lanes; ++l) s += sums[at(i, l)];
    return s;
  }
};

}  // namespace vkm::nn
