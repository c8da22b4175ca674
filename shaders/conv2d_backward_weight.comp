#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// conv2d backward to the weight alone, walking dy (conv2d_backward.comp walks x and also writes
// dx; nn::Conv2d uses this kernel for a conv with more output than input channels, whose window
// of dy the fused kernel would reload once per input-channel tile):
//   dw[o, c, a, b] = sum_{n, i, j} dy[n, o, i, j] * x[n, c, i + a - pad, j + b - pad]
// x [N, C_IN, h, w], dy [N, C_OUT, ho, wo] -> per-lane sums in nn::WeightPartials' layout with one
// input-channel tile (lane l's sum of weight i at l * STRIDE + i), which the update or
// conv2d_backward_weight_reduce.comp adds in a fixed order. No atomics: bitwise reproducible.
//
// Lanes are samples: invocation `lane` of `lanes` handles samples lane, lane + lanes, ...
// (samples_per_lane of them) for the CO_TILE output channels from first_channel (workgroup row y is the tile:
// one dispatch for all tiles), accumulating the tile's sums in registers while x streams through a sliding window of
// ROWS + K - 1 rows by K columns (as in conv2d_forward.comp). The lanes' sums are not added here:
// that would need a barrier, and on lavapipe a barrier makes the whole kernel a coroutine that
// keeps the sums in memory, many times slower than storing them. NA_ON: x is the previous norm's
// input and the window applies that norm, its ReLU and dropout as it loads (conv_window.glsl).
// NG_ON: the conv's output feeds a norm, and dy is the gradient reaching that norm's normalized
// value, turned into the gradient of the output as it is loaded (norm_gradient.glsl).
#include "base.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"
#define NA_BINDING 3
#include "norm_apply.glsl"
#define NG_BINDING 9
#include "norm_gradient.glsl"

layout(constant_id = 10) const uint C_IN = 1;
layout(constant_id = 11) const uint C_OUT = 1;
layout(constant_id = 12) const uint K = 1;
layout(constant_id = 13) const uint CO_TILE = 1;  // output channels per dispatch, divides C_OUT
layout(constant_id = 14) const uint ROWS = 1;     // output rows per step of the window
// NC4HW4 tensors (nn::Layout), as in conv2d_forward.comp: x (PACKED_IN), dy (PACKED_OUT; then
// CO_TILE % 4 == 0).
layout(constant_id = 16) const bool PACKED_IN = false;
layout(constant_id = 17) const bool PACKED_OUT = false;
layout(constant_id = 18) const uint STRIDE = 1;  // a lane's set: C_OUT * C_IN * K * K padded to 4

const uint WIN = ROWS + K - 1;
const uint TILE = CO_TILE * C_IN * K * K;  // weights of one tile

layout(push_constant) uniform Push {
  uint n;                 // samples in this batch
  uint samples_per_lane;  // ceil(n / lanes)
  uint lanes;             // invocations along x in the whole dispatch
  uint h;                 // input height
  uint w;                 // input width
  uint pad;               // zero padding on every side
  uint step;              // NA_ON: the step within the epoch (dropout)
} p;

READONLY_FLOATS4(0, x);
READONLY_FLOATS4(1, dy);
layout(set = 0, binding = 2) writeonly buffer Partials { float partials[]; };  // [lanes, STRIDE]

float acc[TILE];  // the tile's sums [CO_TILE, C_IN, K, K]
#include "conv_window.glsl"

// Adds one sample's contribution: x at x_base, dy (first channel of the tile) at dy_base; dy
// reads as zero for an idle lane.
void accumulate(uint x_base, uint dy_base, bool live, uint ho, uint wo, uint n_index,
                uint first_channel) {
  vec4 ng_k[CO_TILE];  // NG_ON: the sample's output norm coefficients per tile channel
  if (NG_ON) {
    [[unroll]] for (uint o = 0; o < CO_TILE; ++o) ng_k[o] = ng_coefficients(n_index, first_channel + o, C_OUT);
  }
  [[dont_unroll]] for (uint i0 = 0; i0 < ho; i0 += ROWS) {
    const int top = int(i0) - int(p.pad);
    [[dont_unroll]] for (uint b = 0; b + 1 < K; ++b) advance(x_base, top, int(b) - int(p.pad));
    [[dont_unroll]] for (uint j = 0; j < wo; ++j) {
      advance(x_base, top, int(j + K - 1) - int(p.pad));
      // dy of the tile's channels at this column, then each sum takes all ROWS products at once
      // (ROWS FMAs per load and store of a sum that lives in memory).
      float d[CO_TILE * ROWS];
      if (PACKED_OUT) {
        [[unroll]] for (uint g = 0; g < CO_TILE / 4; ++g) {
          [[unroll]] for (uint r = 0; r < ROWS; ++r) {
            const uint at = dy_base / 4 + (g * ho + min(i0 + r, ho - 1)) * wo + j;
            vec4 v = LOAD4(dy, at);
            if (NG_ON) {
              const vec4 zv = LOAD4(ng_z, at);
              [[unroll]] for (uint k = 0; k < 4; ++k) v[k] = ng_gradient(v[k], zv[k], ng_k[4 * g + k]);
            }
            [[unroll]] for (uint k = 0; k < 4; ++k) d[(4 * g + k) * ROWS + r] = live && i0 + r < ho ? v[k] : 0.0;
          }
        }
      } else {
        [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
          [[unroll]] for (uint r = 0; r < ROWS; ++r) {
            const uint at = dy_base + (o * ho + min(i0 + r, ho - 1)) * wo + j;
            const float g = NG_ON ? ng_gradient(LOAD(dy, at), LOAD(ng_z, at), ng_k[o]) : LOAD(dy, at);
            d[o * ROWS + r] = live && i0 + r < ho ? g : 0.0;
          }
        }
      }
      [[unroll]] for (uint o = 0; o < CO_TILE; ++o) {
        [[unroll]] for (uint c = 0; c < C_IN; ++c) {
          [[unroll]] for (uint a = 0; a < K; ++a) {
            [[unroll]] for (uint b = 0; b < K; ++b) {
              const uint t = ((o * C_IN + c) * K + a) * K + b;
              float sum = acc[t];
              [[unroll]] for (uint r = 0; r < ROWS; ++r) {
                sum = fma(d[o * ROWS + r], win[(c * WIN + r + a) * K + b], sum);
              }
              acc[t] = sum;
            }
          }
        }
      }
    }
  }
}

void main() {
  const uint first_channel = gl_WorkGroupID.y * CO_TILE;  // the tile: workgroup row y
  const uint ho = p.h + 2 * p.pad - K + 1;
  const uint wo = p.w + 2 * p.pad - K + 1;
  const uint lane = gl_GlobalInvocationID.x;
  [[unroll]] for (uint t = 0; t < TILE; ++t) acc[t] = 0.0;
  [[dont_unroll]] for (uint s = 0; s < p.samples_per_lane; ++s) {
    const uint sample_index = lane + s * p.lanes;
    const uint safe = min(sample_index, p.n - 1);  // idle lanes read a real sample, with dy = 0
    window_begin_sample(safe);
    accumulate(safe * C_IN * p.h * p.w, (safe * C_OUT + first_channel) * ho * wo, sample_index < p.n, ho, wo,
               safe, first_channel);
  }
  const uint out_base = lane * STRIDE + first_channel * C_IN * K * K;  // the tile's weights
  [[unroll]] for (uint t = 0; t < TILE; ++t) partials[out_base + t] = acc[t];
}
