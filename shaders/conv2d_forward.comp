#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// conv2d forward (no bias, stride 1, zero padding PAD):
//   y[n, o, i, j] = sum_{c, a, b} x[n, c, i + a - PAD, j + b - PAD] * w[o, c, a, b]
// x [N, C_IN, H, W], w [C_OUT, C_IN, K, K] (OIHW), y [N, C_OUT, HO, WO].
//
// One invocation per sample (the lanes of a subgroup are samples), each computing CO_TILE output
// channels (workgroup y) over a band of BAND output rows (workgroup z). Built for CPU drivers
// like lavapipe, where every memory access costs a loop over the lanes and arithmetic is cheap:
// the tile's weights are loaded once into registers, the input is read through a sliding window
// of ROWS + K - 1 rows by K columns, so each input value is loaded about (ROWS + K - 1) / ROWS
// times, and each output is stored once. The shapes are specialization constants, so every
// inner loop unrolls into straight FMAs on registers.
#include "base.glsl"

layout(constant_id = 10) const uint C_IN = 1;
layout(constant_id = 11) const uint C_OUT = 1;
layout(constant_id = 12) const uint H = 1;
layout(constant_id = 13) const uint W = 1;
layout(constant_id = 14) const uint K = 1;
layout(constant_id = 15) const uint PAD = 0;
layout(constant_id = 16) const uint CO_TILE = 1;  // output channels per invocation, divides C_OUT
layout(constant_id = 17) const uint ROWS = 1;     // output rows per step of the window
layout(constant_id = 18) const uint BAND = 1;     // output rows per workgroup z

const uint HO = H + 2 * PAD - K + 1;
const uint WO = W + 2 * PAD - K + 1;
const uint WIN = ROWS + K - 1;  // input rows in the window

layout(push_constant) uniform Push {
  uint n;  // samples in this batch (<= the N the tensors were made for)
} p;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Weight { float w[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };

// x[sample at base, c, row, col], zero in the padding. Lane-uniform branches: loads are clamped.
float load_x(uint base, uint c, int row, int col) {
  const bool inside = row >= 0 && row < int(H) && col >= 0 && col < int(W);
  const uint r = uint(clamp(row, 0, int(H) - 1));
  const uint q = uint(clamp(col, 0, int(W) - 1));
  const float v = x[base + (c * H + r) * W + q];
  return inside ? v : 0.0;
}

void main() {
  const bool live = gl_GlobalInvocationID.x < p.n;
  const uint sample_index = min(gl_GlobalInvocationID.x, p.n - 1);  // idle lanes read a real sample
  const uint o0 = gl_WorkGroupID.y * CO_TILE;
  const uint row_begin = gl_WorkGroupID.z * BAND;
  const uint row_end = min(row_begin + BAND, HO);

  float wt[CO_TILE * C_IN * K * K];  // [CO_TILE, C_IN, K, K]
  [[unroll]] for (uint i = 0; i < CO_TILE * C_IN * K * K; ++i) wt[i] = w[o0 * C_IN * K * K + i];

  const uint x_base = sample_index * C_IN * H * W;
  const uint y_base = (sample_index * C_OUT + o0) * HO * WO;
  [[dont_unroll]] for (uint i0 = row_begin; i0 < row_end; i0 += ROWS) {
    const int top = int(i0) - int(PAD);
    float win[C_IN * WIN * K];  // [C_IN, WIN, K]: input columns j - PAD .. j - PAD + K - 1
    [[unroll]] for (uint c = 0; c < C_IN; ++c) {
      [[unroll]] for (uint r = 0; r < WIN; ++r) {
        [[unroll]] for (uint b = 1; b < K; ++b) {
          win[(c * WIN + r) * K + b] = load_x(x_base, c, top + int(r), int(b) - 1 - int(PAD));
        }
      }
    }
    [[dont_unroll]] for (uint j = 0; j < WO; ++j) {
      // Slide the window one column right and load the new column.
      [[unroll]] for (uint c = 0; c < C_IN; ++c) {
        [[unroll]] for (uint r = 0; r < WIN; ++r) {
          [[unroll]] for (uint b = 0; b + 1 < K; ++b) win[(c * WIN + r) * K + b] = win[(c * WIN + r) * K + b + 1];
          win[(c * WIN + r) * K + K - 1] = load_x(x_base, c, top + int(r), int(j + K - 1) - int(PAD));
        }
      }
      [[unroll]] for (uint r = 0; r < ROWS; ++r) {
        [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
          float acc = 0.0;
          [[unroll]] for (uint c = 0; c < C_IN; ++c) {
            [[unroll]] for (uint a = 0; a < K; ++a) {
              [[unroll]] for (uint b = 0; b < K; ++b) {
                acc = fma(win[(c * WIN + r + a) * K + b], wt[((o * C_IN + c) * K + a) * K + b], acc);
              }
            }
          }
          if (live && i0 + r < row_end) y[y_base + (o * HO + i0 + r) * WO + j] = acc;
        }
      }
    }
  }
}
