#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// conv2d forward (no bias, stride 1, zero padding p.pad):
//   y[n, o, i, j] = sum_{c, a, b} x[n, c, i + a - pad, j + b - pad] * w[o, c, a, b]
// x [N, C_IN, h, w], w [C_OUT, C_IN, K, K] (OIHW), y [N, C_OUT, ho, wo].
//
// Built for CPU drivers like lavapipe, where every buffer access with a per-lane address costs a
// loop over the lanes and arithmetic is cheap. The lanes are samples: invocation `lane` of
// `lanes` computes samples lane, lane + lanes, ... for the CO_TILE output channels from
// first_channel (workgroup row y is the tile: one dispatch for all tiles). The tile's weights are loaded once into registers, at
// lane-uniform addresses (one scalar load each); the input streams through a sliding window of
// ROWS + K - 1 rows by K columns, so each input value is loaded about (ROWS + K - 1) / ROWS
// times, and each output is stored once. Channel counts and the kernel size are specialization
// constants: the inner loops unroll into FMAs on registers. The image size is a push constant,
// so layers that differ only in it share one kernel. NA_ON: x is the previous norm's input and
// the window applies that norm, its ReLU and dropout as it loads (conv_window.glsl).
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
layout(constant_id = 13) const uint CO_TILE = 1;  // output channels per dispatch, divides C_OUT
layout(constant_id = 14) const uint ROWS = 1;     // output rows per step of the window
// Also write each output plane's statistics for the norm that follows (its forward_stats pass,
// fused here): the plane's mean and M2 = sum (y - mean)^2, from sums shifted by the plane's first
// output, by the formula of norm_forward_stats.comp; the last workgroup to finish merges them
// into the norm's statistics (norm_finalize.glsl).
layout(constant_id = 15) const bool STATS = false;
// NC4HW4 tensors (nn::Layout): x (PACKED_IN), y (PACKED_OUT; then CO_TILE % 4 == 0). A packed
// tensor's values for channels 4g .. 4g + 3 at a pixel are one vec4, at the NCHW formula's index
// with the channel replaced by its group g and the sample's base divided by 4: one rgba32f fetch
// brings four input channels, one store writes four outputs.
layout(constant_id = 16) const bool PACKED_IN = false;
layout(constant_id = 17) const bool PACKED_OUT = false;

const uint WIN = ROWS + K - 1;  // input rows in the window

layout(push_constant) uniform Push {
  uint n;                 // samples in this batch (<= the N the tensors were made for)
  uint samples_per_lane;  // ceil(n / lanes)
  uint lanes;             // invocations along x in the whole dispatch
  uint h;                 // input height
  uint w;                 // input width
  uint pad;               // zero padding on every side
  uint step;              // NA_ON: the step within the epoch (dropout)
} p;

READONLY_FLOATS4(0, x);
layout(set = 0, binding = 1) readonly buffer Weight { float weight[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 2) writeonly buffer Y4 { vec4 y4[]; };

float wt[CO_TILE * C_IN * K * K];  // the tile's weights [CO_TILE, C_IN, K, K]
#include "conv_window.glsl"

// One sample: x at x_base, y (first channel of the tile) at y_base; STATS: the tile's plane
// statistics at stats_base.
void convolve(uint x_base, uint y_base, uint stats_base, bool live, uint ho, uint wo) {
  float shift[CO_TILE], s1[CO_TILE], s2[CO_TILE];
  [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
    shift[o] = 0.0;
    s1[o] = 0.0;
    s2[o] = 0.0;
  }
  [[dont_unroll]] for (uint i0 = 0; i0 < ho; i0 += ROWS) {
    // This step's rows summed apart, then added to the plane's sums: float error grows with
    // rows + columns, not with their product.
    float row1[CO_TILE], row2[CO_TILE];
    [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
      row1[o] = 0.0;
      row2[o] = 0.0;
    }
    const int top = int(i0) - int(p.pad);
    [[dont_unroll]] for (uint b = 0; b + 1 < K; ++b) advance(x_base, top, int(b) - int(p.pad));
    [[dont_unroll]] for (uint j = 0; j < wo; ++j) {
      advance(x_base, top, int(j + K - 1) - int(p.pad));
      // Each weight is loaded once per step and used for the ROWS rows (the tile's weights do
      // not fit in registers: every use of one is a load, and loading each once instead of ROWS
      // times made the kernel 16 % faster); the tile's ROWS x CO_TILE accumulators are
      // independent FMA chains that interleave. Each output still sums over (c, a, b) in order.
      float acc[ROWS * CO_TILE];
      [[unroll]] for (uint t = 0; t < ROWS * CO_TILE; ++t) acc[t] = 0.0;
      [[unroll]] for (uint c = 0; c < C_IN; ++c) {
        [[unroll]] for (uint a = 0; a < K; ++a) {
          [[unroll]] for (uint b = 0; b < K; ++b) {
            [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
              const float weight_oc = wt[((o * C_IN + c) * K + a) * K + b];  // one load, ROWS uses
              [[unroll]] for (uint r = 0; r < ROWS; ++r) {
                acc[r * CO_TILE + o] = fma(win[(c * WIN + r + a) * K + b], weight_oc, acc[r * CO_TILE + o]);
              }
            }
          }
        }
      }
      [[unroll]] for (uint r = 0; r < ROWS; ++r) {
        if (PACKED_OUT) {
          [[unroll]] for (uint g = 0; g < CO_TILE / 4; ++g) {
            const uint t = r * CO_TILE + 4 * g;
            if (live && i0 + r < ho) {
              y4[y_base / 4 + (g * ho + i0 + r) * wo + j] = vec4(acc[t], acc[t + 1], acc[t + 2], acc[t + 3]);
            }
          }
        } else {
          [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
            if (live && i0 + r < ho) y[y_base + (o * ho + i0 + r) * wo + j] = acc[r * CO_TILE + o];
          }
        }
      }
      if (STATS) {
        if (i0 == 0 && j == 0) {
          [[unroll]] for (uint o = 0; o < CO_TILE; ++o) shift[o] = acc[o];
        }
        [[unroll]] for (uint r = 0; r < ROWS; ++r) {
          const bool row_live = i0 + r < ho;
          [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
            const float d = row_live ? acc[r * CO_TILE + o] - shift[o] : 0.0;
            row1[o] += d;
            row2[o] = fma(d, d, row2[o]);
          }
        }
      }
    }
    if (STATS) {
      [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
        s1[o] += row1[o];
        s2[o] += row2[o];
      }
    }
  }
  if (STATS && live) {
    const float count = float(ho * wo);
    [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
      nf_partials[stats_base + o] = vec2(shift[o] + s1[o] / count, max(s2[o] - s1[o] * s1[o] / count, 0.0));
    }
  }
}

void main() {
  const uint first_channel = gl_WorkGroupID.y * CO_TILE;  // the tile: workgroup row y
  const uint ho = p.h + 2 * p.pad - K + 1;
  const uint wo = p.w + 2 * p.pad - K + 1;
  [[unroll]] for (uint i = 0; i < CO_TILE * C_IN * K * K; ++i) wt[i] = weight[first_channel * C_IN * K * K + i];
  // Idle lanes (past n) compute on a real sample and store nothing.
  [[dont_unroll]] for (uint s = 0; s < p.samples_per_lane; ++s) {
    const uint sample_index = gl_GlobalInvocationID.x + s * p.lanes;
    const uint safe = min(sample_index, p.n - 1);
    window_begin_sample(safe);
    convolve(safe * C_IN * p.h * p.w, (safe * C_OUT + first_channel) * ho * wo,
             safe * C_OUT + first_channel, sample_index < p.n, ho, wo);
  }
  if (STATS) nf_finish(p.n, C_OUT, ho * wo);
}
