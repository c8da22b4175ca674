#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// conv2d backward to the input, the GPU shape (nn::Conv2d where the device's kernel shape is gpu;
// the weight gradient is conv2d_backward_weight_gpu.comp's):
//   dx[n, c, i, j] = sum_{o, a, b} dy[n, o, i + pad - a, j + pad - b] * w[o, c, a, b]
// with input pixels and samples across invocations, as conv2d_forward_gpu.comp has output pixels:
// SLOTS invocations per sample (a power of two), gl_WorkGroupSize.x / SLOTS samples per
// workgroup, each invocation PIX pixels of its sample for the CI_TILE input channels of workgroup
// row y, in registers; the tile's weights [C_OUT, CI_TILE, K, K] staged in shared memory.
//
// The fusions of conv2d_backward.comp, computed the same way: NG_ON, each dy value is turned into
// the gradient of the conv's output as it is read (norm_gradient.glsl); NA_ON, x is a norm's input
// z, dx goes on through that norm's ReLU and dropout (the gradient reaching the normalized value is
// stored) and the norm's backward sums per plane, (sum g, sum g * (z - mean)), are added over the
// sample's invocations in a fixed tree (segment_sum.glsl) and finished by the last workgroup
// (norm_finalize.glsl). Bindings as conv2d_backward.comp's (its weight partials, 23, unused).
#include "base.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"
#define NA_BINDING 4
#include "norm_apply.glsl"
#define NB_BINDING 10
#include "norm_finalize.glsl"
#define NG_BINDING 19
#include "norm_gradient.glsl"

layout(constant_id = 10) const uint C_IN = 1;     // the forward convolution's channels
layout(constant_id = 11) const uint C_OUT = 1;
layout(constant_id = 12) const uint K = 1;
layout(constant_id = 13) const uint CI_TILE = 1;  // input channels per workgroup row, divides C_IN
layout(constant_id = 16) const bool PACKED_IN = false;   // NC4HW4 x and dx (then CI_TILE % 4 == 0)
layout(constant_id = 17) const bool PACKED_OUT = false;  // NC4HW4 dy
layout(constant_id = 21) const uint SLOTS = 1;  // invocations per sample, a power of two
layout(constant_id = 22) const uint PIX = 1;    // pixels per invocation: ceil(h * w / SLOTS)

layout(push_constant) uniform Push {
  uint n;                 // samples in this batch
  uint samples_per_lane;  // unused (1)
  uint lanes;             // unused
  uint h;                 // x (the forward input) height
  uint w;                 // x width
  uint pad;               // the forward convolution's zero padding
  uint step;              // NA_ON: the step within the epoch (dropout)
} p;

READONLY_FLOATS4(0, dy);
layout(set = 0, binding = 1) readonly buffer Weight { float weight[]; };
layout(set = 0, binding = 2) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 2) writeonly buffer DX4 { vec4 dx4[]; };
READONLY_FLOATS4(3, x);  // the forward's input (NA_ON: the norm's z)

#include "segment_sum.glsl"

shared float tile_weights[C_OUT * CI_TILE * K * K];  // [C_OUT, CI_TILE, K, K]
vec4 ng_k[C_OUT];  // NG_ON: the sample's output norm coefficients per dy channel

// The C_OUT values of dy (NG_ON: the gradient of the conv's output) at (row, col) of the sample at
// dy_base; zero outside the plane (the load itself is clamped: no branch).
void load_gradient(uint dy_base, int row, int col, uint ho, uint wo, out float g[C_OUT]) {
  const bool inside = row >= 0 && row < int(ho) && col >= 0 && col < int(wo);
  const uint r = uint(clamp(row, 0, int(ho) - 1));
  const uint q = uint(clamp(col, 0, int(wo) - 1));
  if (PACKED_OUT) {
    [[unroll]] for (uint gr = 0; gr < C_OUT / 4; ++gr) {
      const uint at = dy_base / 4 + (gr * ho + r) * wo + q;
      vec4 v = LOAD4(dy, at);
      if (NG_ON) {
        const vec4 z = LOAD4(ng_z, at);
        [[unroll]] for (uint k = 0; k < 4; ++k) v[k] = ng_gradient(v[k], z[k], ng_k[4 * gr + k]);
      }
      [[unroll]] for (uint k = 0; k < 4; ++k) g[4 * gr + k] = inside ? v[k] : 0.0;
    }
  } else {
    [[unroll]] for (uint o = 0; o < C_OUT; ++o) {
      const uint at = dy_base + (o * ho + r) * wo + q;
      const float v = NG_ON ? ng_gradient(LOAD(dy, at), LOAD(ng_z, at), ng_k[o]) : LOAD(dy, at);
      g[o] = inside ? v : 0.0;
    }
  }
}

void main() {
  const uint samples = gl_WorkGroupSize.x / SLOTS;
  const uint slot = gl_LocalInvocationIndex % SLOTS;
  const uint sample_index = gl_WorkGroupID.x * samples + gl_LocalInvocationIndex / SLOTS;
  const bool live_sample = sample_index < p.n;
  const uint safe = min(sample_index, p.n - 1);
  const uint c0 = gl_WorkGroupID.y * CI_TILE;
  const uint ho = p.h + 2 * p.pad - K + 1;
  const uint wo = p.w + 2 * p.pad - K + 1;
  const uint plane = p.h * p.w;

  for (uint i = gl_LocalInvocationIndex; i < C_OUT * CI_TILE * K * K; i += gl_WorkGroupSize.x) {
    const uint o = i / (CI_TILE * K * K);
    const uint r = i - o * CI_TILE * K * K;  // (c, a, b) within the tile
    tile_weights[i] = weight[(o * C_IN + c0) * K * K + r];
  }
  barrier();
  if (NG_ON) {
    [[unroll]] for (uint o = 0; o < C_OUT; ++o) ng_k[o] = ng_coefficients(safe, o, C_OUT);
  }
  const uint dy_base = safe * C_OUT * ho * wo;
  const uint x_base = (safe * C_IN + c0) * plane;  // the tile's first channel, NCHW's formula

  float acc[PIX * CI_TILE];
  [[unroll]] for (uint t = 0; t < PIX * CI_TILE; ++t) acc[t] = 0.0;
  [[unroll]] for (uint q = 0; q < PIX; ++q) {
    const uint pixel = min(slot + q * SLOTS, plane - 1);
    const int i = int(pixel / p.w);
    const int j = int(pixel % p.w);
    [[unroll]] for (uint a = 0; a < K; ++a) {
      [[unroll]] for (uint b = 0; b < K; ++b) {
        float g[C_OUT];
        load_gradient(dy_base, i + int(p.pad) - int(a), j + int(p.pad) - int(b), ho, wo, g);
        [[unroll]] for (uint o = 0; o < C_OUT; ++o) {
          [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
            acc[q * CI_TILE + c] = fma(g[o], tile_weights[((o * CI_TILE + c) * K + a) * K + b], acc[q * CI_TILE + c]);
          }
        }
      }
    }
  }

  // NA_ON: on through the norm's ReLU and dropout, and the plane sums (s1, s2) per channel.
  vec3 k[CI_TILE];
  float s1[CI_TILE], s2[CI_TILE];
  [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
    k[c] = NA_ON ? na_coefficients(safe, c0 + c, C_IN) : vec3(0.0);
    s1[c] = 0.0;
    s2[c] = 0.0;
  }
  if (NA_ON) {
    const NaStream stream = na_stream(p.step);
    [[unroll]] for (uint q = 0; q < PIX; ++q) {
      const uint pixel = min(slot + q * SLOTS, plane - 1);
      const bool live = slot + q * SLOTS < plane;
      [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
        const uint e = x_base + c * plane + pixel;  // the flat NCHW index (the dropout mask's)
        const float z = PACKED_IN ? LOAD4(x, x_base / 4 + (c / 4) * plane + pixel)[c % 4] : LOAD(x, e);
        float gate;
        na_apply_gate(z, k[c], stream, e, gate);
        const float g = acc[q * CI_TILE + c] * gate;
        acc[q * CI_TILE + c] = g;
        if (live) {
          s1[c] += g;
          s2[c] += g * (z - k[c].x);
        }
      }
    }
  }

  [[unroll]] for (uint q = 0; q < PIX; ++q) {
    const uint pixel = slot + q * SLOTS;
    if (!live_sample || pixel >= plane) continue;
    if (PACKED_IN) {
      [[unroll]] for (uint gr = 0; gr < CI_TILE / 4; ++gr) {
        const uint t = q * CI_TILE + 4 * gr;
        dx4[x_base / 4 + gr * plane + pixel] = vec4(acc[t], acc[t + 1], acc[t + 2], acc[t + 3]);
      }
    } else {
      [[unroll]] for (uint c = 0; c < CI_TILE; ++c) dx[x_base + c * plane + pixel] = acc[q * CI_TILE + c];
    }
  }

  if (!NA_ON) return;
  [[unroll]] for (uint c = 0; c < CI_TILE; c += 2) {
    const bool pair = c + 1 < CI_TILE;
    const vec4 t = segment_sum(vec4(s1[c], s2[c], pair ? s1[c + 1] : 0.0, pair ? s2[c + 1] : 0.0), slot);
    if (slot == 0 && live_sample) {
      nb_partials[safe * C_IN + c0 + c] = t.xy;
      if (pair) nb_partials[safe * C_IN + c0 + c + 1] = t.zw;
    }
  }
  nb_finish(p.n, C_IN, plane);
}
