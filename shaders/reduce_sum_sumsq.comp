#version 460
#extension GL_GOOGLE_include_directive : require
// Pass 1 of the segmented sum / sum-of-squares reduction at the core of every normalization.
// A segment is `pieces` runs of `inner` contiguous floats, run p of segment s starting at
// s * segment_stride + p * piece_stride. Over x: [N, C, H, W]
//   per channel (BatchNorm):        segments C,   pieces N, inner H*W,       segment_stride H*W,
//                                   piece_stride C*H*W
//   per (sample, group) (GroupNorm): segments N*G, pieces 1, inner C/G*H*W,  segment_stride C/G*H*W
// Workgroup (k, s) sums elements [k*chunk, (k+1)*chunk) of segment s and writes
// partials[s * chunks + k] = (sum, sum of squares). reduce_partials.comp finishes the job.
#include "base.glsl"
#include "reduce.glsl"

layout(push_constant) uniform Push {
  uint segments;
  uint pieces;
  uint inner;
  uint piece_stride;
  uint segment_stride;
  uint chunk;   // elements per workgroup
  uint chunks;  // workgroups per segment
  uint pad;
} p;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Partials { vec2 partials[]; };  // [segments, chunks]

void main() {
  const uint k = gl_WorkGroupID.x;
  const uint s = gl_WorkGroupID.y;
  const uint count = p.pieces * p.inner;
  const uint begin = k * p.chunk;
  const uint end = min(begin + p.chunk, count);
  const uint base = s * p.segment_stride;
  vec2 acc = vec2(0.0);
  for (uint i = begin + gl_LocalInvocationID.x; i < end; i += gl_WorkGroupSize.x) {
    const uint piece = i / p.inner;
    const float v = x[base + piece * p.piece_stride + (i - piece * p.inner)];
    acc += vec2(v, v * v);
  }
  const vec2 total = workgroup_sum(acc);
  if (gl_LocalInvocationID.x == 0 && k < p.chunks && s < p.segments) {
    partials[s * p.chunks + k] = total;
  }
}
