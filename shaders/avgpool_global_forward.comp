#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Global average pooling forward: x [N, C, H, W] -> y [N, C], the mean of each H x W plane.
// Each invocation sums one plane (the planes this pools are small: 5 x 5 in the seed net) in a
// fixed order, with four partial sums to shorten the dependency chain; grid-stride over planes.
// PACKED (x NC4HW4): an element is a vec4 of four channels, the planes are n * C/4, and y [N, C]
// is written four channels at a time. NA_ON: x is a norm's input and each value is pooled after
// that norm, its ReLU and dropout (norm_apply.glsl).
#include "base.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"
#define NA_BINDING 2
#include "norm_apply.glsl"

layout(push_constant) uniform Push {
  uint planes;  // n * C (n * C / 4 packed)
  uint plane;   // H * W
  float inv_plane;
  uint step;      // NA_ON: the step within the epoch (dropout)
  uint channels;  // C
} p;

layout(constant_id = 10) const bool PACKED = false;

READONLY_FLOATS4(0, x);
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 1) writeonly buffer Y4 { vec4 y4[]; };

// Four channels' values at pixel i of packed plane q, with the input norm applied.
vec4 load4(uint q, uint i, vec3 k[4], NaStream stream) {
  vec4 v = LOAD4(x, q * p.plane + i);
  if (NA_ON) {
    [[unroll]] for (uint c = 0; c < 4; ++c) v[c] = na_apply(v[c], k[c], stream, (4 * q + c) * p.plane + i);
  }
  return v;
}

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const NaStream stream = na_stream(p.step);
  for (uint q = gl_GlobalInvocationID.x; q < p.planes; q += stride) {
    const uint base = q * p.plane;
    if (PACKED) {
      vec3 k[4];
      if (NA_ON) {
        [[unroll]] for (uint c = 0; c < 4; ++c) k[c] = na_coefficients(4 * q / p.channels, (4 * q + c) % p.channels, p.channels);
      }
      vec4 a0 = vec4(0.0), a1 = vec4(0.0);
      uint i = 0;
      for (; i + 2 <= p.plane; i += 2) {
        a0 += load4(q, i, k, stream);
        a1 += load4(q, i + 1, k, stream);
      }
      if (i < p.plane) a0 += load4(q, i, k, stream);
      y4[q] = (a0 + a1) * p.inv_plane;
      continue;
    }
    const vec3 k = NA_ON ? na_coefficients(q / p.channels, q % p.channels, p.channels) : vec3(0.0);
    vec4 acc = vec4(0.0);
    uint i = 0;
    for (; i + 4 <= p.plane; i += 4) {
      vec4 v = vec4(LOAD(x, base + i), LOAD(x, base + i + 1), LOAD(x, base + i + 2), LOAD(x, base + i + 3));
      if (NA_ON) {
        [[unroll]] for (uint c = 0; c < 4; ++c) v[c] = na_apply(v[c], k, stream, base + i + c);
      }
      acc += v;
    }
    for (; i < p.plane; ++i) {
      const float v = LOAD(x, base + i);
      acc.x += NA_ON ? na_apply(v, k, stream, base + i) : v;
    }
    y[q] = ((acc.x + acc.y) + (acc.z + acc.w)) * p.inv_plane;
  }
}
