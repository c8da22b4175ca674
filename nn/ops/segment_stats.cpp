// Chooses the chunking of the two-pass reduction and records it.
#include "nn/ops/segment_stats.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/error.hpp"

namespace vkm::nn {

SegmentStats::SegmentStats(Device& device, KernelCache& kernels, Shape shape, Over over,
                           uint32_t groups)
    : shape_(shape) {
  if (over == Over::kGroup && (groups == 0 || shape.c % groups != 0)) {
    throw Error(fmt::format("group statistics: {} groups do not divide {} channels", groups, shape.c));
  }
  auto& p = push_;
  const uint32_t plane = static_cast<uint32_t>(shape.plane());
  if (over == Over::kChannel) {
    p.segments = shape.c;
    p.pieces = shape.n;
    p.inner = plane;
    p.segment_stride = plane;
    p.piece_stride = shape.c * plane;
  } else {
    p.segments = shape.n * groups;
    p.pieces = 1;
    p.inner = shape.c / groups * plane;
    p.segment_stride = p.inner;
    p.piece_stride = 0;
  }
  // Enough elements per workgroup that each invocation loops a few times, enough workgroups per
  // segment to fill the device when segments are few.
  const uint32_t count = p.pieces * p.inner;
  p.chunks = std::clamp<uint32_t>(count / (kWorkgroup * 8), 1, 256);
  p.chunk = (count + p.chunks - 1) / p.chunks;
  p.chunks = (count + p.chunk - 1) / p.chunk;

  KernelDesc pass1{.shader = "reduce_sum_sumsq",
                   .local_size = {kWorkgroup, 1, 1},
                   .push_constant_bytes = sizeof(ReduceSumSumSqPush),
                   .bindings = 2};
  KernelDesc pass2{.shader = "reduce_partials",
                   .local_size = {kWorkgroup, 1, 1},
                   .push_constant_bytes = sizeof(ReducePartialsPush),
                   .bindings = 2};
  pass1_ = &kernels.get(pass1);
  pass2_ = &kernels.get(pass2);
  partials_ = device.buffer(size_t{p.segments} * p.chunks * 2 * sizeof(float), "stats partials");
  sums_ = device.buffer(size_t{p.segments} * 2 * sizeof(float), "stats sums");
}

void SegmentStats::record(Graph& graph, const Tensor& x) const {
  if (x.shape() != shape_) {
    throw Error(fmt::format("segment stats built for {} got tensor '{}' of {}", shape_.str(), x.name(),
                            x.shape().str()));
  }
  graph.dispatch(*pass1_, {reads(x.buffer()), writes(partials_)}, push_,
                 {push_.chunks * kWorkgroup, push_.segments, 1}, "reduce_sum_sumsq");
  const ReducePartialsPush push2{push_.segments, push_.chunks};
  graph.dispatch(*pass2_, {reads(partials_), writes(sums_)}, push2, {kWorkgroup, push_.segments, 1},
                 "reduce_partials");
}

}  // namespace vkm::nn
