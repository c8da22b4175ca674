#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// 2x2 max pooling, stride 2, backward: dy [N, C, H/2, W/2] -> dx [N, C, H, W]. Each window's
// gradient goes to its first maximum in row-major order (the reference's rule; ties are common
// after a ReLU), every other element gets zero, including a dropped odd last row/column (zeroed
// by the windows next to it), so every dx element is written exactly once. SLOTS invocations own
// one plane (grid-stride over the n * C planes), invocation `slot` its windows slot,
// slot + SLOTS, ... in row-major order: one (the CPU shape: a whole plane each, no barrier) or a
// power of two up to the workgroup (the GPU shape, nn::MaxPool2d). PACKED (NC4HW4 tensors): an
// element is a vec4 of four channels, each routed on its own, and a plane is four planes (n * C/4
// of them).
//
// NA_ON: x is a norm's input z that the forward pooled after the norm, its ReLU and dropout
// (norm_apply.glsl). The windows' maxima are found among those activations, and the gradient goes
// on through the ReLU and dropout: dx is the gradient reaching the normalized value. The kernel
// also writes the norm's backward sums per plane, (sum dx, sum dx * (z - mean)), and its last
// workgroup finishes them (norm_finalize.glsl), as conv2d_backward.comp does.
#include "base.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"
#define NA_BINDING 3
#include "norm_apply.glsl"
#define NB_BINDING 9
#include "norm_finalize.glsl"

layout(push_constant) uniform Push {
  uint rows;  // n * C * out_h (n * C/4 * out_h packed)
  uint in_h;
  uint in_w;
  uint out_h;
  uint out_w;
  uint step;      // NA_ON: the step within the epoch (dropout)
  uint channels;  // C
  uint pad;
} p;

layout(constant_id = 10) const bool PACKED = false;
layout(constant_id = 11) const uint SLOTS = 1;  // invocations per plane, a power of two

READONLY_FLOATS4(0, x);
READONLY_FLOATS4(1, dy);
layout(set = 0, binding = 2) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 2) writeonly buffer DX4 { vec4 dx4[]; };

// SLOTS > 1: the plane's backward sums over its invocations (a fixed tree; segment_sum.glsl).
#include "segment_sum.glsl"

// The windows of plane q (NCHW index q = n * C + c) from `slot`, every SLOTS-th: their dx, the
// dropped odd last row and column next to them, and (NA_ON) their part of the plane's backward
// sums (sum dx, sum dx * (z - mean)), added in the windows' order.
vec2 plane(uint q, uint slot, NaStream stream) {
  const uint size = p.in_h * p.in_w;
  const vec3 k = NA_ON ? na_coefficients(q / p.channels, q % p.channels, p.channels) : vec3(0.0);
  float s1 = 0.0, s2 = 0.0;
  uint oy = slot / p.out_w, ox = slot % p.out_w;
  for (; oy < p.out_h; ox += SLOTS) {
    while (ox >= p.out_w) {
      ox -= p.out_w;
      ++oy;
    }
    if (oy >= p.out_h) break;
    const uint top = q * size + 2 * oy * p.in_w;
    const uint bottom = top + p.in_w;
    const uint e[4] = uint[4](top + 2 * ox, top + 2 * ox + 1, bottom + 2 * ox, bottom + 2 * ox + 1);
    float z[4], v[4];
    [[unroll]] for (uint t = 0; t < 4; ++t) {
      z[t] = LOAD(x, e[t]);
      v[t] = NA_ON ? na_apply(z[t], k, stream, e[t]) : z[t];
    }
    const float g = LOAD(dy, (q * p.out_h + oy) * p.out_w + ox);
    // The first maximum: a unless something later is strictly larger, and so on.
    const float m = max(max(v[0], v[1]), max(v[2], v[3]));
    bool taken = false;
    [[unroll]] for (uint t = 0; t < 4; ++t) {
      const bool at = !taken && (t == 3 || v[t] == m);
      taken = taken || at;
      float d = at ? g : 0.0;
      if (NA_ON) {
        d = na_backward(z[t], k, stream, e[t], d);
        s1 += d;
        s2 += d * (z[t] - k.x);
      }
      dx[e[t]] = d;
    }
    const bool odd_w = (p.in_w & 1u) != 0 && ox == p.out_w - 1;
    if (odd_w) {  // the dropped last column
      dx[top + p.in_w - 1] = 0.0;
      dx[bottom + p.in_w - 1] = 0.0;
    }
    if ((p.in_h & 1u) != 0 && oy == p.out_h - 1) {  // the dropped last row
      const uint last = q * size + (p.in_h - 1) * p.in_w;
      dx[last + 2 * ox] = 0.0;
      dx[last + 2 * ox + 1] = 0.0;
      if (odd_w) dx[last + p.in_w - 1] = 0.0;
    }
  }
  return vec2(s1, s2);
}

// plane() for four planes 4q .. 4q + 3 at once (PACKED: vec4 elements of packed plane q).
void plane4(uint q, uint slot, NaStream stream, out vec4 s1, out vec4 s2) {
  const uint size = p.in_h * p.in_w;
  vec3 k[4];
  if (NA_ON) {
    [[unroll]] for (uint c = 0; c < 4; ++c) k[c] = na_coefficients(4 * q / p.channels, (4 * q + c) % p.channels, p.channels);
  }
  s1 = vec4(0.0);
  s2 = vec4(0.0);
  uint oy = slot / p.out_w, ox = slot % p.out_w;
  for (; oy < p.out_h; ox += SLOTS) {
    while (ox >= p.out_w) {
      ox -= p.out_w;
      ++oy;
    }
    if (oy >= p.out_h) break;
    const uint top = q * size + 2 * oy * p.in_w;
    const uint bottom = top + p.in_w;
    const uint e[4] = uint[4](top + 2 * ox, top + 2 * ox + 1, bottom + 2 * ox, bottom + 2 * ox + 1);
    vec4 z[4], v[4];
    [[unroll]] for (uint t = 0; t < 4; ++t) {
      z[t] = LOAD4(x, e[t]);
      v[t] = z[t];
      if (NA_ON) {
        [[unroll]] for (uint c = 0; c < 4; ++c) v[t][c] = na_apply(z[t][c], k[c], stream, (4 * q + c) * size + e[t] - q * size);
      }
    }
    const vec4 g = LOAD4(dy, (q * p.out_h + oy) * p.out_w + ox);
    const vec4 m = max(max(v[0], v[1]), max(v[2], v[3]));
    bvec4 taken = bvec4(false);
    [[unroll]] for (uint t = 0; t < 4; ++t) {
      vec4 d;
      [[unroll]] for (uint c = 0; c < 4; ++c) {
        const bool at = !taken[c] && (t == 3 || v[t][c] == m[c]);
        taken[c] = taken[c] || at;
        d[c] = at ? g[c] : 0.0;
        if (NA_ON) {
          d[c] = na_backward(z[t][c], k[c], stream, (4 * q + c) * size + e[t] - q * size, d[c]);
          s1[c] += d[c];
          s2[c] += d[c] * (z[t][c] - k[c].x);
        }
      }
      dx4[e[t]] = d;
    }
    const bool odd_w = (p.in_w & 1u) != 0 && ox == p.out_w - 1;
    if (odd_w) {
      dx4[top + p.in_w - 1] = vec4(0.0);
      dx4[bottom + p.in_w - 1] = vec4(0.0);
    }
    if ((p.in_h & 1u) != 0 && oy == p.out_h - 1) {
      const uint last = q * size + (p.in_h - 1) * p.in_w;
      dx4[last + 2 * ox] = vec4(0.0);
      dx4[last + 2 * ox + 1] = vec4(0.0);
      if (odd_w) dx4[last + p.in_w - 1] = vec4(0.0);
    }
  }
}

void main() {
  const uint planes = p.rows / p.out_h;
  const uint per_group = gl_WorkGroupSize.x / SLOTS;  // planes per workgroup
  const uint slot = gl_LocalInvocationIndex % SLOTS;
  const NaStream stream = na_stream(p.step);
  // The loop is uniform across the workgroup (segment_sum has barriers); invocations past the
  // last plane go along idle.
  for (uint base = gl_WorkGroupID.x * per_group; base < planes; base += gl_NumWorkGroups.x * per_group) {
    const uint q = base + gl_LocalInvocationIndex / SLOTS;
    const bool live = q < planes;
    if (PACKED) {
      vec4 s1 = vec4(0.0), s2 = vec4(0.0);
      if (live) plane4(q, slot, stream, s1, s2);
      if (NA_ON && SLOTS > 1) {
        s1 = segment_sum(s1, slot);
        s2 = segment_sum(s2, slot);
      }
      if (NA_ON && live && slot == 0) {
        [[unroll]] for (uint c = 0; c < 4; ++c) nb_partials[4 * q + c] = vec2(s1[c], s2[c]);
      }
    } else {
      vec2 s = live ? plane(q, slot, stream) : vec2(0.0);
      if (NA_ON && SLOTS > 1) s = segment_sum(vec4(s, 0.0, 0.0), slot).xy;
      if (NA_ON && live && slot == 0) nb_partials[q] = s;
    }
  }
  if (NA_ON) nb_finish(PACKED ? 4 * planes / p.channels : planes / p.channels, p.channels, p.in_h * p.in_w);
}
