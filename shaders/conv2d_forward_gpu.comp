#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// conv2d forward, the GPU shape (nn::Conv2d on a device whose kernel shape is gpu,
// engine/device_info.hpp): the same sum as conv2d_forward.comp,
//   y[n, o, i, j] = sum_{c, a, b} x[n, c, i + a - pad, j + b - pad] * w[o, c, a, b],
// with output pixels and samples across invocations instead of one invocation per sample.
//
// A workgroup is SAMPLES = local size / SLOTS samples side by side, SLOTS invocations each
// (SLOTS a power of two: the sample's pixels, up to the workgroup); invocation `slot` computes the
// sample's pixels slot, slot + SLOTS, ... (PIX of them) for the CO_TILE output channels of
// workgroup row y, every one in registers. The tile's weights are staged in shared memory once
// (read at workgroup-uniform addresses: a broadcast). STAGE_IN (where the workgroup's samples fit,
// nn::Conv2d::gpu_plan): their whole input planes, every channel, are staged in shared memory
// too, each value loaded from memory once, coalesced, and (NA_ON) normalized once, instead of by
// each of the K * K windows that hold it; padding stays outside the tile (zero). Otherwise each
// input value is read by the K * K invocations whose windows hold it, neighbouring invocations
// reading neighbouring pixels. NA_ON: x is a norm's input, applied with its ReLU and dropout as
// it is read (norm_apply.glsl), as in conv2d_forward.comp.
//
// STATS: each output plane's (mean, M2) for the norm that follows, as conv2d_forward.comp writes
// them: the plane's sum over its SLOTS invocations through shared memory in a fixed tree order,
// its mean, then the sum of squared deviations from that mean over the outputs still in
// registers (two passes: no cancellation); the last workgroup merges the planes
// (norm_finalize.glsl). No atomics on floats: bitwise reproducible.
#include "base.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"
#define NA_BINDING 3
#include "norm_apply.glsl"
#define NF_BINDING 9
#include "norm_finalize.glsl"

layout(constant_id = 10) const uint C_IN = 1;
layout(constant_id = 11) const uint C_OUT = 1;
layout(constant_id = 12) const uint K = 1;
layout(constant_id = 13) const uint CO_TILE = 1;  // output channels per workgroup row, divides C_OUT
layout(constant_id = 15) const bool STATS = false;
layout(constant_id = 16) const bool PACKED_IN = false;   // NC4HW4 x (nn::Layout)
layout(constant_id = 17) const bool PACKED_OUT = false;  // NC4HW4 y (then CO_TILE % 4 == 0)
layout(constant_id = 18) const uint SLOTS = 1;  // invocations per sample, a power of two
layout(constant_id = 19) const uint PIX = 1;    // pixels per invocation: ceil(ho * wo / SLOTS)
layout(constant_id = 20) const bool STAGE_IN = false;  // the samples' input planes in shared memory
layout(constant_id = 21) const uint STAGE_FLOATS = 1;  // STAGE_IN: samples * C_IN * h * w

const uint WIN = 1;  // conv_window.glsl's sliding window: unused here

layout(push_constant) uniform Push {
  uint n;                 // samples in this batch
  uint samples_per_lane;  // unused (1)
  uint lanes;             // unused
  uint h;                 // input height
  uint w;                 // input width
  uint pad;               // zero padding on every side
  uint step;              // NA_ON: the step within the epoch (dropout)
} p;

READONLY_FLOATS4(0, x);
layout(set = 0, binding = 1) readonly buffer Weight { float weight[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 2) writeonly buffer Y4 { vec4 y4[]; };

#include "conv_window.glsl"

shared float tile_weights[CO_TILE * C_IN * K * K];  // [CO_TILE, C_IN, K, K]
shared float tile_in[STAGE_FLOATS];                 // STAGE_IN: [samples, C_IN, h, w], normalized
#include "segment_sum.glsl"

// STATS: per output channel of the tile, this invocation's sum (padded to whole vec4s), which
// plane_sums turns into its sample's plane sum.
const uint CO4 = (CO_TILE + 3) / 4;
float sums[CO4 * 4];
void plane_sums(uint slot) {
  [[unroll]] for (uint g = 0; g < CO4; ++g) {
    const vec4 t = segment_sum(vec4(sums[4 * g], sums[4 * g + 1], sums[4 * g + 2], sums[4 * g + 3]), slot);
    [[unroll]] for (uint k = 0; k < 4; ++k) sums[4 * g + k] = t[k];
  }
}

void main() {
  const uint samples = gl_WorkGroupSize.x / SLOTS;
  const uint slot = gl_LocalInvocationIndex % SLOTS;
  const uint sample_index = gl_WorkGroupID.x * samples + gl_LocalInvocationIndex / SLOTS;
  const bool live_sample = sample_index < p.n;
  const uint safe = min(sample_index, p.n - 1);
  const uint first_channel = gl_WorkGroupID.y * CO_TILE;
  const uint ho = p.h + 2 * p.pad - K + 1;
  const uint wo = p.w + 2 * p.pad - K + 1;
  const uint plane = ho * wo;

  for (uint i = gl_LocalInvocationIndex; i < CO_TILE * C_IN * K * K; i += gl_WorkGroupSize.x) {
    tile_weights[i] = weight[first_channel * C_IN * K * K + i];
  }
  const uint per_sample = C_IN * p.h * p.w;
  if (STAGE_IN) {
    // Consecutive invocations take consecutive elements of a sample (one plane after another):
    // coalesced loads; a packed x gives each element its component of the pixel's vec4.
    const NaStream stream = na_stream(p.step);
    for (uint i = gl_LocalInvocationIndex; i < samples * per_sample; i += gl_WorkGroupSize.x) {
      const uint s = i / per_sample;
      const uint e = i - s * per_sample;  // c * h * w + r * w + col
      const uint n_index = min(gl_WorkGroupID.x * samples + s, p.n - 1);
      const uint c = e / (p.h * p.w);
      const uint base = n_index * per_sample;
      float v = PACKED_IN ? LOAD4(x, base / 4 + (c / 4) * p.h * p.w + (e - c * p.h * p.w))[c % 4]
                          : LOAD(x, base + e);
      if (NA_ON) v = na_apply(v, na_coefficients(n_index, c, C_IN), stream, base + e);
      tile_in[i] = v;
    }
  }
  barrier();
  window_begin_sample(safe);
  const uint x_base = safe * C_IN * p.h * p.w;
  const uint y_base = (safe * C_OUT + first_channel) * plane;

  float acc[PIX * CO_TILE];
  [[unroll]] for (uint t = 0; t < PIX * CO_TILE; ++t) acc[t] = 0.0;
  [[unroll]] for (uint q = 0; q < PIX; ++q) {
    const uint pixel = min(slot + q * SLOTS, plane - 1);
    const int top = int(pixel / wo) - int(p.pad);
    const int left = int(pixel % wo) - int(p.pad);
    [[unroll]] for (uint a = 0; a < K; ++a) {
      [[unroll]] for (uint b = 0; b < K; ++b) {
        const int row = top + int(a);
        const int col = left + int(b);
        float v[C_IN];
        if (STAGE_IN) {
          const bool inside = row >= 0 && row < int(p.h) && col >= 0 && col < int(p.w);
          const uint at = (gl_LocalInvocationIndex / SLOTS) * per_sample +
                          uint(clamp(row, 0, int(p.h) - 1)) * p.w + uint(clamp(col, 0, int(p.w) - 1));
          [[unroll]] for (uint c = 0; c < C_IN; ++c) {
            v[c] = inside ? tile_in[at + c * p.h * p.w] : 0.0;
          }
        } else if (PACKED_IN) {
          const bool inside = row >= 0 && row < int(p.h) && col >= 0 && col < int(p.w);
          const uint r = uint(clamp(row, 0, int(p.h) - 1));
          const uint s = uint(clamp(col, 0, int(p.w) - 1));
          [[unroll]] for (uint g = 0; g < C_IN / 4; ++g) {
            const vec4 t = LOAD4(x, x_base / 4 + (g * p.h + r) * p.w + s);
            [[unroll]] for (uint k = 0; k < 4; ++k) {
              const uint c = 4 * g + k;
              v[c] = inside ? window_value(t[k], c, x_base + (c * p.h + r) * p.w + s) : 0.0;
            }
          }
        } else {
          [[unroll]] for (uint c = 0; c < C_IN; ++c) v[c] = load_x(x_base, c, row, col);
        }
        [[unroll]] for (uint c = 0; c < C_IN; ++c) {
          [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
            acc[q * CO_TILE + o] = fma(v[c], tile_weights[((o * C_IN + c) * K + a) * K + b], acc[q * CO_TILE + o]);
          }
        }
      }
    }
  }

  [[unroll]] for (uint q = 0; q < PIX; ++q) {
    const uint pixel = slot + q * SLOTS;
    if (!live_sample || pixel >= plane) continue;
    if (PACKED_OUT) {
      [[unroll]] for (uint g = 0; g < CO_TILE / 4; ++g) {
        const uint t = q * CO_TILE + 4 * g;
        y4[y_base / 4 + g * plane + pixel] = vec4(acc[t], acc[t + 1], acc[t + 2], acc[t + 3]);
      }
    } else {
      [[unroll]] for (uint o = 0; o < CO_TILE; ++o) y[y_base + o * plane + pixel] = acc[q * CO_TILE + o];
    }
  }

  if (!STATS) return;
  [[unroll]] for (uint o = 0; o < CO4 * 4; ++o) sums[o] = 0.0;
  [[unroll]] for (uint q = 0; q < PIX; ++q) {
    const bool live = slot + q * SLOTS < plane;
    [[unroll]] for (uint o = 0; o < CO_TILE; ++o) sums[o] += live ? acc[q * CO_TILE + o] : 0.0;
  }
  plane_sums(slot);
  float mean[CO_TILE];
  [[unroll]] for (uint o = 0; o < CO_TILE; ++o) mean[o] = sums[o] / float(plane);
  [[unroll]] for (uint o = 0; o < CO4 * 4; ++o) sums[o] = 0.0;
  [[unroll]] for (uint q = 0; q < PIX; ++q) {
    const bool live = slot + q * SLOTS < plane;
    [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
      const float d = live ? acc[q * CO_TILE + o] - mean[o] : 0.0;
      sums[o] = fma(d, d, sums[o]);
    }
  }
  plane_sums(slot);
  if (slot == 0 && live_sample) {
    [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
      nf_partials[safe * C_OUT + first_channel + o] = vec2(mean[o], sums[o]);
    }
  }
  nf_finish(p.n, C_OUT, plane);
}
