// SegmentStats: (sum, sum of squares) per channel or per (sample, group) of an [N, C, H, W]
// tensor on the device, in two deterministic passes (reduce_sum_sumsq.comp, then
// reduce_partials.comp). The statistics every normalization layer starts from.
#pragma once

#include <cstdint>

#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "engine/memory.hpp"
#include "nn/shape.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

struct ReduceSumSumSqPush {
  uint32_t segments;
  uint32_t pieces;
  uint32_t inner;
  uint32_t piece_stride;
  uint32_t segment_stride;
  uint32_t chunk;
  uint32_t chunks;
  uint32_t pad;
};
static_assert(sizeof(ReduceSumSumSqPush) == 32, "mirrors Push in reduce_sum_sumsq.comp");

struct ReducePartialsPush {
  uint32_t segments;
  uint32_t chunks;
};
static_assert(sizeof(ReducePartialsPush) == 8, "mirrors Push in reduce_partials.comp");

class SegmentStats {
 public:
  enum class Over { kChannel, kGroup };
  static constexpr uint32_t kWorkgroup = 128;

  // groups is used for Over::kGroup only (1 = LayerNorm's per-sample statistics).
  SegmentStats(Device& device, KernelCache& kernels, Shape shape, Over over, uint32_t groups = 1);

  uint32_t segments() const { return push_.segments; }
  uint32_t chunks() const { return push_.chunks; }
  // Elements in each segment (the count that turns the sums into a mean).
  uint32_t count() const { return push_.pieces * push_.inner; }
  // Device buffer of `segments()` vec2 (sum, sum of squares) the recorded nodes write.
  const Buffer& sums() const { return sums_; }

  // Records the two passes that read x: [N, C, H, W] and write sums().
  void record(Graph& graph, const Tensor& x) const;

 private:
  Shape shape_;
  ReduceSumSumSqPush push_{};
  const Kernel* pass1_;
  const Kernel* pass2_;
  Buffer partials_;  // [segments, chunks] vec2
  Buffer sums_;      // [segments] vec2
};

}  // namespace vkm::nn
