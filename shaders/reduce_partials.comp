#version 460
#extension GL_GOOGLE_include_directive : require
// Pass 2 of the segmented reduction: workgroup s adds partials[s, 0..chunks) in a fixed order
// and writes out[s] = (sum, sum of squares).
#include "base.glsl"
#include "reduce.glsl"

layout(push_constant) uniform Push {
  uint segments;
  uint chunks;
} p;

layout(set = 0, binding = 0) readonly buffer Partials { vec2 partials[]; };  // [segments, chunks]
layout(set = 0, binding = 1) writeonly buffer Out { vec2 sums[]; };          // [segments]

void main() {
  const uint s = gl_WorkGroupID.y;
  vec2 acc = vec2(0.0);
  if (s < p.segments) {
    for (uint k = gl_LocalInvocationID.x; k < p.chunks; k += gl_WorkGroupSize.x) {
      acc += partials[s * p.chunks + k];
    }
  }
  const vec2 total = workgroup_sum(acc);
  if (gl_LocalInvocationID.x == 0 && s < p.segments) sums[s] = total;
}
