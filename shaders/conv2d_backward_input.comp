#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// conv2d backward to the input (no bias, stride 1, zero padding PAD):
//   dx[n, c, i, j] = sum_{o, a, b} dy[n, o, i + PAD - a, j + PAD - b] * w[o, c, a, b]
// i.e. a forward convolution of dy with the kernel flipped and transposed (w[o, c, K-1-a, K-1-b]
// as [C_IN, C_OUT, K, K]) and padding S = K - 1 - PAD.
// dy [N, C_OUT, HO, WO], w [C_OUT, C_IN, K, K] (OIHW), dx [N, C_IN, H, W].
//
// The same scheme as conv2d_forward.comp: one invocation per sample, CI_TILE input channels per
// workgroup y, a band of BAND rows per workgroup z, the flipped weights of the tile in registers
// and dy read through a sliding window of ROWS + K - 1 rows by K columns.
#include "base.glsl"

// The forward convolution's geometry.
layout(constant_id = 10) const uint C_IN = 1;
layout(constant_id = 11) const uint C_OUT = 1;
layout(constant_id = 12) const uint H = 1;
layout(constant_id = 13) const uint W = 1;
layout(constant_id = 14) const uint K = 1;
layout(constant_id = 15) const uint PAD = 0;
layout(constant_id = 16) const uint CI_TILE = 1;  // dx channels per invocation, divides C_IN
layout(constant_id = 17) const uint ROWS = 1;     // dx rows per step of the window
layout(constant_id = 18) const uint BAND = 1;     // dx rows per workgroup z

const uint HO = H + 2 * PAD - K + 1;
const uint WO = W + 2 * PAD - K + 1;
const uint WIN = ROWS + K - 1;   // dy rows in the window
const int S = int(K) - 1 - int(PAD);  // padding of the transposed convolution (may be negative)

layout(push_constant) uniform Push {
  uint n;  // samples in this batch (<= the N the tensors were made for)
} p;

layout(set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 1) readonly buffer Weight { float w[]; };
layout(set = 0, binding = 2) writeonly buffer DX { float dx[]; };

// dy[sample at base, o, row, col], zero outside. Lane-uniform branches: loads are clamped.
float load_dy(uint base, uint o, int row, int col) {
  const bool inside = row >= 0 && row < int(HO) && col >= 0 && col < int(WO);
  const uint r = uint(clamp(row, 0, int(HO) - 1));
  const uint q = uint(clamp(col, 0, int(WO) - 1));
  const float v = dy[base + (o * HO + r) * WO + q];
  return inside ? v : 0.0;
}

void main() {
  const bool live = gl_GlobalInvocationID.x < p.n;
  const uint sample_index = min(gl_GlobalInvocationID.x, p.n - 1);  // idle lanes read a real sample
  const uint c0 = gl_WorkGroupID.y * CI_TILE;
  const uint row_begin = gl_WorkGroupID.z * BAND;
  const uint row_end = min(row_begin + BAND, H);

  float wt[CI_TILE * C_OUT * K * K];  // [CI_TILE, C_OUT, K, K], flipped: wt[c, o, a, b] = w[o, c, K-1-a, K-1-b]
  [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
    [[unroll]] for (uint o = 0; o < C_OUT; ++o) {
      [[unroll]] for (uint a = 0; a < K; ++a) {
        [[unroll]] for (uint b = 0; b < K; ++b) {
          wt[((c * C_OUT + o) * K + a) * K + b] = w[((o * C_IN + c0 + c) * K + K - 1 - a) * K + K - 1 - b];
        }
      }
    }
  }

  const uint dy_base = sample_index * C_OUT * HO * WO;
  const uint dx_base = (sample_index * C_IN + c0) * H * W;
  [[dont_unroll]] for (uint i0 = row_begin; i0 < row_end; i0 += ROWS) {
    const int top = int(i0) - S;
    float win[C_OUT * WIN * K];  // [C_OUT, WIN, K]: dy columns j - S .. j - S + K - 1
    [[unroll]] for (uint o = 0; o < C_OUT; ++o) {
      [[unroll]] for (uint r = 0; r < WIN; ++r) {
        [[unroll]] for (uint b = 1; b < K; ++b) {
          win[(o * WIN + r) * K + b] = load_dy(dy_base, o, top + int(r), int(b) - 1 - S);
        }
      }
    }
    [[dont_unroll]] for (uint j = 0; j < W; ++j) {
      [[unroll]] for (uint o = 0; o < C_OUT; ++o) {
        [[unroll]] for (uint r = 0; r < WIN; ++r) {
          [[unroll]] for (uint b = 0; b + 1 < K; ++b) win[(o * WIN + r) * K + b] = win[(o * WIN + r) * K + b + 1];
          win[(o * WIN + r) * K + K - 1] = load_dy(dy_base, o, top + int(r), int(j + K - 1) - S);
        }
      }
      [[unroll]] for (uint r = 0; r < ROWS; ++r) {
        [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
          float acc = 0.0;
          [[unroll]] for (uint o = 0; o < C_OUT; ++o) {
            [[unroll]] for (uint a = 0; a < K; ++a) {
              [[unroll]] for (uint b = 0; b < K; ++b) {
                acc = fma(win[(o * WIN + r + a) * K + b], wt[((c * C_OUT + o) * K + a) * K + b], acc);
              }
            }
          }
          if (live && i0 + r < row_end) dx[dx_base + (c * H + i0 + r) * W + j] = acc;
        }
      }
    }
  }
}
