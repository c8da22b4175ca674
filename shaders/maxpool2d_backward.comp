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

// Window (oy, ox) of plane q (NCHW index q = n * C + c): its dx and (NA_ON) its part of the
// plane's backward sums (sum dx, sum dx * (z - mean)).
void window(uint q, uint oy, uint ox, vec3 k, NaStream stream, inout float s1, inout float s2) {
  const uint top = q * p.in_h * p.in_w + 2 * oy * p.in_w;
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
}

// window() for four planes 4q .. 4q + 3 at once (PACKED: vec4 elements of packed plane q).
void window4(uint q, uint oy, uint ox, vec3 k[4], NaStream stream, inout vec4 s1, inout vec4 s2) {
  const uint size = p.in_h * p.in_w;
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
}

// Zeroes dx at flat element i: one float, or (PACKED) the vec4 of four channels.
void zero(uint i) {
  if (PACKED) {
    dx4[i] = vec4(0.0);
  } else {
    dx[i] = 0.0;
  }
}

// The dropped odd last column next to row oy of windows and, below the last row of windows, the
// dropped odd last row: columns from `first` to `end` (exclusive), in elements of plane q.
void zero_dropped(uint q, uint oy, uint first, uint end) {
  const uint size = p.in_h * p.in_w;
  if ((p.in_w & 1u) != 0 && end == p.in_w) {
    zero(q * size + 2 * oy * p.in_w + p.in_w - 1);
    zero(q * size + (2 * oy + 1) * p.in_w + p.in_w - 1);
  }
  if ((p.in_h & 1u) != 0 && oy == p.out_h - 1) {
    for (uint i = first; i < end; ++i) zero(q * size + (p.in_h - 1) * p.in_w + i);
  }
}

// The windows of plane q from `slot`, every SLOTS-th in row-major order, with the dropped row and
// column next to them; their part of the plane's backward sums, in the windows' order. SLOTS 1
// (the CPU shape) walks the plane row by row.
void plane(uint q, uint slot, NaStream stream, out vec4 s1, out vec4 s2) {
  s1 = vec4(0.0);
  s2 = vec4(0.0);
  vec3 k[4];
  [[unroll]] for (uint c = 0; c < 4; ++c) k[c] = vec3(0.0);
  if (NA_ON) {
    if (PACKED) {
      [[unroll]] for (uint c = 0; c < 4; ++c) k[c] = na_coefficients(4 * q / p.channels, (4 * q + c) % p.channels, p.channels);
    } else {
      k[0] = na_coefficients(q / p.channels, q % p.channels, p.channels);
    }
  }
  if (SLOTS == 1) {
    for (uint oy = 0; oy < p.out_h; ++oy) {
      for (uint ox = 0; ox < p.out_w; ++ox) {
        if (PACKED) {
          window4(q, oy, ox, k, stream, s1, s2);
        } else {
          window(q, oy, ox, k[0], stream, s1.x, s2.x);
        }
      }
      zero_dropped(q, oy, 0, p.in_w);
    }
    return;
  }
  for (uint w = slot; w < p.out_h * p.out_w; w += SLOTS) {
    const uint oy = w / p.out_w;
    const uint ox = w - oy * p.out_w;
    if (PACKED) {
      window4(q, oy, ox, k, stream, s1, s2);
    } else {
      window(q, oy, ox, k[0], stream, s1.x, s2.x);
    }
    const bool last = ox == p.out_w - 1;
    zero_dropped(q, oy, 2 * ox, last ? p.in_w : 2 * ox + 2);
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
    vec4 s1 = vec4(0.0), s2 = vec4(0.0);
    if (live) plane(q, slot, stream, s1, s2);
    if (NA_ON && SLOTS > 1) {
      s1 = segment_sum(s1, slot);
      s2 = segment_sum(s2, slot);
    }
    if (NA_ON && live && slot == 0) {
      if (PACKED) {
        [[unroll]] for (uint c = 0; c < 4; ++c) nb_partials[4 * q + c] = vec2(s1[c], s2[c]);
      } else {
        nb_partials[q] = vec2(s1.x, s2.x);
      }
    }
  }
  if (NA_ON) nb_finish(PACKED ? 4 * planes / p.channels : planes / p.channels, p.channels, p.in_h * p.in_w);
}
