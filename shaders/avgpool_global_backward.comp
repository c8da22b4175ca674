#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Global average pooling backward: dy [N, C] -> dx [N, C, H, W] = dy / (H * W) over each plane.
// Each invocation fills one plane; grid-stride over planes. PACKED (dx NC4HW4): four channels'
// planes at once, the planes n * C/4.
//
// NA_ON: the forward pooled a norm's input z after that norm, its ReLU and dropout
// (norm_apply.glsl); the backward goes on through the ReLU and dropout, so dx is the gradient
// reaching the normalized value, and also writes the norm's backward sums per plane,
// (sum dx, sum dx * (z - mean)), finished by its last workgroup (norm_finalize.glsl).
#include "base.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"
#define NA_BINDING 3
#include "norm_apply.glsl"
#define NB_BINDING 9
#include "norm_finalize.glsl"

layout(push_constant) uniform Push {
  uint planes;  // n * C (n * C / 4 packed)
  uint plane;   // H * W
  float inv_plane;
  uint step;      // NA_ON: the step within the epoch (dropout)
  uint channels;  // C
} p;

layout(constant_id = 10) const bool PACKED = false;

READONLY_FLOATS4(0, dy);
layout(set = 0, binding = 1) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 1) writeonly buffer DX4 { vec4 dx4[]; };
READONLY_FLOATS4(2, z);  // NA_ON: the norm's input [N, C, H, W]

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const NaStream stream = na_stream(p.step);
  for (uint q = gl_GlobalInvocationID.x; q < p.planes; q += stride) {
    const uint base = q * p.plane;
    if (PACKED) {
      const vec4 g = LOAD4(dy, q) * p.inv_plane;
      if (!NA_ON) {
        for (uint i = 0; i < p.plane; ++i) dx4[base + i] = g;
        continue;
      }
      vec3 k[4];
      [[unroll]] for (uint c = 0; c < 4; ++c) k[c] = na_coefficients(4 * q / p.channels, (4 * q + c) % p.channels, p.channels);
      vec4 s1 = vec4(0.0), s2 = vec4(0.0);
      for (uint i = 0; i < p.plane; ++i) {
        const vec4 zv = LOAD4(z, base + i);
        vec4 d;
        [[unroll]] for (uint c = 0; c < 4; ++c) {
          d[c] = na_backward(zv[c], k[c], stream, (4 * q + c) * p.plane + i, g[c]);
          s1[c] += d[c];
          s2[c] += d[c] * (zv[c] - k[c].x);
        }
        dx4[base + i] = d;
      }
      [[unroll]] for (uint c = 0; c < 4; ++c) nb_partials[4 * q + c] = vec2(s1[c], s2[c]);
      continue;
    }
    const float g = LOAD(dy, q) * p.inv_plane;
    if (!NA_ON) {
      for (uint i = 0; i < p.plane; ++i) dx[base + i] = g;
      continue;
    }
    const vec3 k = na_coefficients(q / p.channels, q % p.channels, p.channels);
    float s1 = 0.0, s2 = 0.0;
    for (uint i = 0; i < p.plane; ++i) {
      const float zv = LOAD(z, base + i);
      const float d = na_backward(zv, k, stream, base + i, g);
      s1 += d;
      s2 += d * (zv - k.x);
      dx[base + i] = d;
    }
    nb_partials[q] = vec2(s1, s2);
  }
  if (NA_ON) {
    const uint n = PACKED ? 4 * p.planes / p.channels : p.planes / p.channels;
    nb_finish(n, p.channels, p.plane);
  }
}
