// CPU reference of the normalization statistics: per-channel (BatchNorm) and per-(sample, group)
// (GroupNorm; LayerNorm is one group) sum and sum of squares, accumulated in double.
#pragma once

#include <span>
#include <utility>
#include <vector>

#include "nn/shape.hpp"

namespace vkm::nn::reference {

struct SumSumSq {
  double sum = 0.0;
  double sum_sq = 0.0;
};

// x: [N, C, H, W] -> [C]
std::vector<SumSumSq> channel_sum_sumsq(std::span<const float> x, const Shape& shape);

// x: [N, C, H, W] -> [N, G], C divisible by G
std::vector<SumSumSq> group_sum_sumsq(std::span<const float> x, const Shape& shape, uint32_t groups);

}  // namespace vkm::nn::reference
