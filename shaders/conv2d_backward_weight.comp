#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// conv2d backward to the weight, pass 1 of 2 (conv2d_backward_weight_reduce.comp is pass 2):
//   dw[o, c, a, b] = sum_{n, i, j} dy[n, o, i, j] * x[n, c, i + a - PAD, j + b - PAD]
// x [N, C_IN, H, W], dy [N, C_OUT, HO, WO] -> partials [lanes, C_OUT, C_IN, K, K], one set of
// partial sums per invocation along x; pass 2 adds the sets in a fixed order. No atomics:
// bitwise reproducible.
//
// Lanes are samples: invocation `lane` of `lanes` in all handles samples lane, lane + lanes, ...
// (samples_per_lane of them) for the CO_TILE output channels of workgroup y, accumulating the
// tile's CO_TILE * C_IN * K * K sums in registers while x streams through a sliding window of
// ROWS + K - 1 rows by K columns (as in conv2d_forward.comp).
#include "base.glsl"

layout(constant_id = 10) const uint C_IN = 1;
layout(constant_id = 11) const uint C_OUT = 1;
layout(constant_id = 12) const uint H = 1;
layout(constant_id = 13) const uint W = 1;
layout(constant_id = 14) const uint K = 1;
layout(constant_id = 15) const uint PAD = 0;
layout(constant_id = 16) const uint CO_TILE = 1;  // output channels per invocation, divides C_OUT
layout(constant_id = 17) const uint ROWS = 1;     // output rows per step of the window

const uint HO = H + 2 * PAD - K + 1;
const uint WO = W + 2 * PAD - K + 1;
const uint WIN = ROWS + K - 1;
const uint TILE = CO_TILE * C_IN * K * K;  // weights of one workgroup y
const uint COUNT = C_OUT * C_IN * K * K;   // weights in all

layout(push_constant) uniform Push {
  uint n;                 // samples in this batch
  uint samples_per_lane;  // ceil(n / lanes)
  uint lanes;             // invocations along x in the whole dispatch
} p;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) writeonly buffer Partials { float partials[]; };  // [lanes, COUNT]

float load_x(uint base, uint c, int row, int col) {
  const bool inside = row >= 0 && row < int(H) && col >= 0 && col < int(W);
  const uint r = uint(clamp(row, 0, int(H) - 1));
  const uint q = uint(clamp(col, 0, int(W) - 1));
  const float v = x[base + (c * H + r) * W + q];
  return inside ? v : 0.0;
}

void main() {
  const uint lane = gl_GlobalInvocationID.x;
  const uint o0 = gl_WorkGroupID.y * CO_TILE;

  float acc[TILE];  // [CO_TILE, C_IN, K, K]
  [[unroll]] for (uint t = 0; t < TILE; ++t) acc[t] = 0.0;

  [[dont_unroll]] for (uint s = 0; s < p.samples_per_lane; ++s) {
    const uint sample_index = lane + s * p.lanes;
    const bool live = sample_index < p.n;
    const uint safe = min(sample_index, p.n - 1);  // idle lanes read a real sample, weighted 0
    const uint x_base = safe * C_IN * H * W;
    const uint dy_base = (safe * C_OUT + o0) * HO * WO;
    [[dont_unroll]] for (uint i0 = 0; i0 < HO; i0 += ROWS) {
      const int top = int(i0) - int(PAD);
      float win[C_IN * WIN * K];  // [C_IN, WIN, K]
      [[unroll]] for (uint c = 0; c < C_IN; ++c) {
        [[unroll]] for (uint r = 0; r < WIN; ++r) {
          [[unroll]] for (uint b = 1; b < K; ++b) {
            win[(c * WIN + r) * K + b] = load_x(x_base, c, top + int(r), int(b) - 1 - int(PAD));
          }
        }
      }
      [[dont_unroll]] for (uint j = 0; j < WO; ++j) {
        [[unroll]] for (uint c = 0; c < C_IN; ++c) {
          [[unroll]] for (uint r = 0; r < WIN; ++r) {
            [[unroll]] for (uint b = 0; b + 1 < K; ++b) win[(c * WIN + r) * K + b] = win[(c * WIN + r) * K + b + 1];
            win[(c * WIN + r) * K + K - 1] = load_x(x_base, c, top + int(r), int(j + K - 1) - int(PAD));
          }
        }
        [[unroll]] for (uint r = 0; r < ROWS; ++r) {
          const bool row_live = live && i0 + r < HO;
          [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
            const float g = dy[dy_base + (o * HO + min(i0 + r, HO - 1)) * WO + j];
            const float d = row_live ? g : 0.0;
            [[unroll]] for (uint c = 0; c < C_IN; ++c) {
              [[unroll]] for (uint a = 0; a < K; ++a) {
                [[unroll]] for (uint b = 0; b < K; ++b) {
                  acc[((o * C_IN + c) * K + a) * K + b] =
                      fma(d, win[(c * WIN + r + a) * K + b], acc[((o * C_IN + c) * K + a) * K + b]);
                }
              }
            }
          }
        }
      }
    }
  }

  // This lane's sums; pass 2 adds the lanes in order. (A workgroup reduction here would need a
  // barrier, and on lavapipe a barrier anywhere turns the whole kernel into a coroutine that
  // keeps the sums in memory: many times slower than these stores.)
  const uint out_base = lane * COUNT + o0 * C_IN * K * K;
  [[unroll]] for (uint t = 0; t < TILE; ++t) partials[out_base + t] = acc[t];
}
