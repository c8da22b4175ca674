#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Norm backward (BatchNorm2d, GroupNorm), pass 1 of 2: per H x W plane, the sums the gradient
// needs. With g = dy, or with the ReLU (and dropout) fused after the norm (NA_ON) the gradient
// reaching the normalized value, its mask recomputed from x (norm_apply.glsl), invocation
// p = n * C + c writes partials[p] = (sum g, sum g * (x - mean)) over plane (n, c), mean its
// statistic's (statistic_of in norm_push.glsl: its channel's for BatchNorm, its group's for
// GroupNorm). The last workgroup to finish turns them into dgamma, dbeta and the dx coefficients
// (norm_finalize.glsl). VEC4: H*W % 4 == 0, planes are read as vec4. PACKED: four planes per
// invocation (norm_push.glsl).
#include "base.glsl"
#include "norm_push.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"
#define NA_BINDING 2
#include "norm_apply.glsl"
#define NB_BINDING 8
#include "norm_finalize.glsl"

layout(constant_id = 10) const bool VEC4 = false;
layout(constant_id = 19) const bool PACKED = false;  // NC4HW4 x and dy (norm_push.glsl)

READONLY_FLOATS4(0, x);   // [N, C, H, W]
READONLY_FLOATS4(1, dy);  // [N, C, H, W]; the partials are nb_partials [N, C]

// The four planes of invocation q at once (PACKED).
void sums4(uint q) {
  vec4 m;
  vec3 k[4];
  const uint n_index = 4 * q / p.channels;
  [[unroll]] for (uint c = 0; c < 4; ++c) {
    m[c] = nb_mean[statistic_of(4 * q + c)];
    if (NA_ON) k[c] = na_coefficients(n_index, (4 * q + c) % p.channels, p.channels);
  }
  const NaStream stream = na_stream(p.step);
  vec4 a = vec4(0.0), b = vec4(0.0);
  for (uint i = 0; i < p.plane; ++i) {
    const vec4 xv = LOAD4(x, q * p.plane + i);
    vec4 g = LOAD4(dy, q * p.plane + i);
    if (NA_ON) {
      [[unroll]] for (uint c = 0; c < 4; ++c) g[c] = na_backward(xv[c], k[c], stream, (4 * q + c) * p.plane + i, g[c]);
    }
    a += g;
    b += g * (xv - m);
  }
  [[unroll]] for (uint c = 0; c < 4; ++c) nb_partials[4 * q + c] = vec2(a[c], b[c]);
}

void sums(uint plane) {
  const float m = nb_mean[statistic_of(plane)];
  const vec3 k = NA_ON ? na_coefficients(plane / p.channels, plane % p.channels, p.channels) : vec3(0.0);
  const NaStream stream = na_stream(p.step);
  const uint base = plane * p.plane;
  float s1 = 0.0;
  float s2 = 0.0;
  if (VEC4) {
    vec4 a = vec4(0.0);
    vec4 b = vec4(0.0);
    for (uint i = base / 4; i < (base + p.plane) / 4; ++i) {
      const vec4 xv = LOAD4(x, i);
      vec4 g = LOAD4(dy, i);
      if (NA_ON) {
        [[unroll]] for (uint c = 0; c < 4; ++c) g[c] = na_backward(xv[c], k, stream, 4 * i + c, g[c]);
      }
      a += g;
      b += g * (xv - m);
    }
    s1 = (a.x + a.y) + (a.z + a.w);
    s2 = (b.x + b.y) + (b.z + b.w);
  } else {
    for (uint i = base; i < base + p.plane; ++i) {
      const float xv = LOAD(x, i);
      float g = LOAD(dy, i);
      if (NA_ON) g = na_backward(xv, k, stream, i, g);
      s1 += g;
      s2 += g * (xv - m);
    }
  }
  nb_partials[plane] = vec2(s1, s2);
}

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (PACKED) {
    if (i < p.planes / 4) sums4(i);
  } else if (i < p.planes) {
    sums(i);
  }
  nb_finish(p.n, p.channels, p.plane);
}
