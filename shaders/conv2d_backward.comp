#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// conv2d backward (no bias, stride 1, zero padding p.pad), both gradients in one pass over dy:
//   dx[n, c, i, j] = sum_{o, a, b} dy[n, o, i + pad - a, j + pad - b] * w[o, c, a, b]
//   dw[o, c, a, b] = sum_{n, i, j} dy[n, o, i + pad - a, j + pad - b] * x[n, c, i, j]
// dx is a forward convolution of dy with the kernel flipped and transposed (w[o, c, K-1-a, K-1-b]
// as [C_IN, C_OUT, K, K]) and padding s = K - 1 - pad (negative when pad >= K: a crop). Both sums
// pair the same values: at input position (i, j) the window of dy that dx needs, times x there,
// is every term of dw that x[n, c, i, j] takes part in. So one walk over the input positions loads
// each dy value once for both, and x where dx is written (dy [N, C_OUT, ho, wo], w OIHW,
// x and dx [N, C_IN, h, w]).
//
// Lanes are samples: invocation `lane` of `lanes` handles samples lane, lane + lanes, ... for the
// CI_TILE input channels from first_channel (workgroup row y is the tile: one dispatch for all
// tiles), with the tile's flipped weights and its weight sums [C_OUT, CI_TILE, K, K] in registers
// and dy read through a sliding window of ROWS + K - 1 rows by K columns, as in
// conv2d_forward.comp. The weight sums are not added across lanes here (that would need a barrier,
// and on lavapipe a barrier makes the whole kernel a coroutine that keeps every register in
// memory): each lane stores its set, and the update (sgd_update_segments.comp) or
// conv2d_backward_weight_reduce.comp adds the lanes in a fixed order (nn::WeightPartials). No
// atomics: bitwise reproducible.
//
// DX_ON false: the weight gradient alone. DW_ON false: dx alone (nn::Conv2d then has
// conv2d_backward_weight.comp walk dy for the weight gradient: a conv with more output than input
// channels, whose dy window this kernel would reload and re-transform once per tile).
//
// NG_ON: the forward's output feeds a norm, and dy is the gradient reaching that norm's
// normalized value: each dy value is turned into the gradient of the conv's output as it is
// loaded (norm_gradient.glsl).
//
// NA_ON: the forward's input x is a norm's input z, which the forward applied as it read it
// (norm_apply.glsl): the weight sums take the norm's output a = dropout(relu(norm(z))) computed
// from z, and dx goes on through that norm's ReLU and dropout: it stores g = the gradient reaching
// the normalized value (zero where the ReLU stopped it or the element was dropped) instead of the
// gradient of a, and writes the norm's backward sums per plane, sums[n * C_IN + c] = (sum g,
// sum g * (z - mean)), as norm_backward_sums.comp would; the last workgroup to finish turns them
// into the norm's dgamma, dbeta and dx coefficients (norm_finalize.glsl).
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
layout(constant_id = 14) const uint ROWS = 1;     // input rows per step of the window
// NC4HW4 tensors (nn::Layout), as in conv2d_forward.comp: x and dx are the forward's input
// (PACKED_IN), dy its output (PACKED_OUT). A packed tile is whole groups of four channels
// (CI_TILE % 4 == 0: vec4 loads and stores) or part of one (CI_TILE 1 or 2, where C_OUT is large
// and a whole group's weights and sums would not fit: its channels picked out of the vec4).
layout(constant_id = 16) const bool PACKED_IN = false;
layout(constant_id = 17) const bool PACKED_OUT = false;
layout(constant_id = 18) const bool DX_ON = true;
layout(constant_id = 20) const bool DW_ON = true;

const uint WIN = ROWS + K - 1;                // dy rows in the window
const uint TILE = C_OUT * CI_TILE * K * K;    // weight sums of one tile [C_OUT, CI_TILE, K, K]
const uint TILE4 = (TILE + 3) / 4 * 4;        // a lane's set, padded to whole vec4s
const bool PART_GROUP = PACKED_IN && CI_TILE % 4 != 0;  // the tile is part of a group of four

layout(push_constant) uniform Push {
  uint n;                 // samples in this batch (<= the N the tensors were made for)
  uint samples_per_lane;  // ceil(n / lanes)
  uint lanes;             // invocations along x in the whole dispatch
  uint h;                 // x (the forward input) height
  uint w;                 // x width
  uint pad;               // the forward convolution's zero padding
  uint step;              // NA_ON: the step within the epoch (dropout)
} p;

READONLY_FLOATS4(0, dy);
layout(set = 0, binding = 1) readonly buffer Weight { float weight[]; };
layout(set = 0, binding = 2) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 2) writeonly buffer DX4 { vec4 dx4[]; };
READONLY_FLOATS4(3, x);  // the forward's input, [N, C_IN, h, w] like dx (NA_ON: the norm's z)
layout(set = 0, binding = 23) writeonly buffer Partials { vec4 partials[]; };  // [tiles, lanes, TILE4 / 4]

float wt[CI_TILE * C_OUT * K * K];  // the tile's flipped weights: wt[c, o, a, b] = w[o, c, K-1-a, K-1-b]
float dw_sums[TILE4];  // the tile's weight sums [C_OUT, CI_TILE, K, K], then padding
float win[C_OUT * WIN * K];         // the window [C_OUT, WIN, K]
// NG_ON: the sample's output norm coefficients per dy channel (norm_gradient.glsl).
vec4 ng_k[C_OUT];
// NA_ON: the sample's norm coefficients (mean, scale, shift) and plane sums per tile channel.
vec3 k[CI_TILE];
float s1[CI_TILE], s2[CI_TILE];

// dy[sample at base, o, row, col], zero outside (the load itself is clamped: no branch).
float load_dy(uint base, uint o, int row, int col, uint ho, uint wo) {
  const bool inside = row >= 0 && row < int(ho) && col >= 0 && col < int(wo);
  const uint r = uint(clamp(row, 0, int(ho) - 1));
  const uint q = uint(clamp(col, 0, int(wo) - 1));
  const uint i = base + (o * ho + r) * wo + q;
  const float v = NG_ON ? ng_gradient(LOAD(dy, i), LOAD(ng_z, i), ng_k[o]) : LOAD(dy, i);
  return inside ? v : 0.0;
}

// Slides the window one column right: dy column `col` of rows top .. top + WIN - 1 enters.
void advance(uint dy_base, int top, int col, uint ho, uint wo) {
  if (PACKED_OUT) {
    const bool col_inside = col >= 0 && col < int(wo);
    const uint q = uint(clamp(col, 0, int(wo) - 1));
    [[unroll]] for (uint g = 0; g < C_OUT / 4; ++g) {
      [[unroll]] for (uint r = 0; r < WIN; ++r) {
        const int row_i = top + int(r);
        const bool inside = col_inside && row_i >= 0 && row_i < int(ho);
        const uint rr = uint(clamp(row_i, 0, int(ho) - 1));
        const uint at = dy_base / 4 + (g * ho + rr) * wo + q;
        vec4 v = LOAD4(dy, at);
        if (NG_ON) {
          const vec4 zv = LOAD4(ng_z, at);
          [[unroll]] for (uint k = 0; k < 4; ++k) v[k] = ng_gradient(v[k], zv[k], ng_k[4 * g + k]);
        }
        [[unroll]] for (uint k = 0; k < 4; ++k) {
          const uint row = ((4 * g + k) * WIN + r) * K;
          [[unroll]] for (uint b = 0; b + 1 < K; ++b) win[row + b] = win[row + b + 1];
          win[row + K - 1] = inside ? v[k] : 0.0;
        }
      }
    }
    return;
  }
  [[unroll]] for (uint o = 0; o < C_OUT; ++o) {
    [[unroll]] for (uint r = 0; r < WIN; ++r) {
      const uint row = (o * WIN + r) * K;
      [[unroll]] for (uint b = 0; b + 1 < K; ++b) win[row + b] = win[row + b + 1];
      win[row + K - 1] = load_dy(dy_base, o, top + int(r), col, ho, wo);
    }
  }
}

// One sample: dy at dy_base, x and dx (first channel of the tile) at x_base; the tile's channels
// from c0 of sample n_index. An idle lane (live false) computes on a real sample, adds nothing to
// the weight sums and stores nothing.
void backward(uint dy_base, uint x_base, bool live, uint ho, uint wo, uint n_index, uint c0) {
  const int s = int(K) - 1 - int(p.pad);
  if (NG_ON) {
    [[unroll]] for (uint o = 0; o < C_OUT; ++o) ng_k[o] = ng_coefficients(n_index, o, C_OUT);
  }
  [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
    k[c] = NA_ON ? na_coefficients(n_index, c0 + c, C_IN) : vec3(0.0);
    s1[c] = 0.0;
    s2[c] = 0.0;
  }
  const NaStream stream = na_stream(p.step);
  // PART_GROUP: the first vec4 of the tile's group of four channels (NCHW's formula with the
  // channel replaced by the group, as x_base / 4 is for a tile of whole groups).
  const uint group_base = PART_GROUP ? (x_base - (c0 % 4) * p.h * p.w) / 4 : 0;
  [[dont_unroll]] for (uint i0 = 0; i0 < p.h; i0 += ROWS) {
    const int top = int(i0) - s;
    [[dont_unroll]] for (uint b = 0; b + 1 < K; ++b) advance(dy_base, top, int(b) - s, ho, wo);
    [[dont_unroll]] for (uint j = 0; j < p.w; ++j) {
      advance(dy_base, top, int(j + K - 1) - s, ho, wo);
      // x at the ROWS positions (rows i0 .. i0 + ROWS - 1, column j) of the tile's channels; zero
      // past the last row and in an idle lane, so that it adds nothing to the weight sums.
      float zv[ROWS * CI_TILE], xa[ROWS * CI_TILE], gate[ROWS * CI_TILE];
      [[unroll]] for (uint r = 0; r < ROWS; ++r) {
        const uint row = min(i0 + r, p.h - 1);
        if (PART_GROUP) {
          const vec4 v = LOAD4(x, group_base + row * p.w + j);
          [[unroll]] for (uint c = 0; c < CI_TILE; ++c) zv[r * CI_TILE + c] = v[c0 % 4 + c];
        } else if (PACKED_IN) {
          [[unroll]] for (uint g = 0; g < CI_TILE / 4; ++g) {
            const vec4 v = LOAD4(x, x_base / 4 + (g * p.h + row) * p.w + j);
            [[unroll]] for (uint c = 0; c < 4; ++c) zv[r * CI_TILE + 4 * g + c] = v[c];
          }
        } else {
          [[unroll]] for (uint c = 0; c < CI_TILE; ++c) zv[r * CI_TILE + c] = LOAD(x, x_base + (c * p.h + row) * p.w + j);
        }
        [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
          const uint t = r * CI_TILE + c;
          const float a = NA_ON ? na_apply_gate(zv[t], k[c], stream, x_base + (c * p.h + row) * p.w + j, gate[t]) : zv[t];
          xa[t] = live && i0 + r < p.h ? a : 0.0;
        }
      }
      // The weight sums: each takes its ROWS products at once (ROWS FMAs per load and store of a
      // sum that lives in memory). Window slot (r + a, b) holds dy at row i0 + r + pad - (K-1-a),
      // column j + pad - (K-1-b): the term of dw[o, c, K-1-a, K-1-b].
      [[unroll]] for (uint o = 0; o < (DW_ON ? C_OUT : 0); ++o) {
        [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
          [[unroll]] for (uint a = 0; a < K; ++a) {
            [[unroll]] for (uint b = 0; b < K; ++b) {
              const uint t = ((o * CI_TILE + c) * K + K - 1 - a) * K + K - 1 - b;
              float sum = dw_sums[t];
              [[unroll]] for (uint r = 0; r < ROWS; ++r) {
                sum = fma(win[(o * WIN + r + a) * K + b], xa[r * CI_TILE + c], sum);
              }
              dw_sums[t] = sum;
            }
          }
        }
      }
      if (!DX_ON) continue;
      // dx: each weight loaded once per step for the ROWS rows, independent FMA chains
      // interleaving, as in conv2d_forward.comp; each output still sums over (o, a, b) in order.
      float acc[ROWS * CI_TILE];
      [[unroll]] for (uint t = 0; t < ROWS * CI_TILE; ++t) acc[t] = 0.0;
      [[unroll]] for (uint o = 0; o < C_OUT; ++o) {
        [[unroll]] for (uint a = 0; a < K; ++a) {
          [[unroll]] for (uint b = 0; b < K; ++b) {
            [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
              const float weight_co = wt[((c * C_OUT + o) * K + a) * K + b];  // one load, ROWS uses
              [[unroll]] for (uint r = 0; r < ROWS; ++r) {
                acc[r * CI_TILE + c] = fma(win[(o * WIN + r + a) * K + b], weight_co, acc[r * CI_TILE + c]);
              }
            }
          }
        }
      }
      // NA_ON: on through the norm's ReLU and dropout (the gate na_apply_gate found above),
      // adding to the plane sums.
      if (NA_ON) {
        [[unroll]] for (uint r = 0; r < ROWS; ++r) {
          const bool row_live = i0 + r < p.h;
          [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
            const uint t = r * CI_TILE + c;
            const float g = acc[t] * gate[t];
            acc[t] = g;
            if (row_live) {
              s1[c] += g;
              s2[c] += g * (zv[t] - k[c].x);
            }
          }
        }
      }
      [[unroll]] for (uint r = 0; r < ROWS; ++r) {
        if (PART_GROUP) {
          [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
            if (live && i0 + r < p.h) dx[4 * (group_base + (i0 + r) * p.w + j) + c0 % 4 + c] = acc[r * CI_TILE + c];
          }
        } else if (PACKED_IN) {
          [[unroll]] for (uint g = 0; g < CI_TILE / 4; ++g) {
            const uint t = r * CI_TILE + 4 * g;
            if (live && i0 + r < p.h) {
              dx4[x_base / 4 + (g * p.h + i0 + r) * p.w + j] = vec4(acc[t], acc[t + 1], acc[t + 2], acc[t + 3]);
            }
          }
        } else {
          [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
            if (live && i0 + r < p.h) dx[x_base + (c * p.h + i0 + r) * p.w + j] = acc[r * CI_TILE + c];
          }
        }
      }
    }
  }
  if (DX_ON && NA_ON && live) {
    [[unroll]] for (uint c = 0; c < CI_TILE; ++c) nb_partials[n_index * C_IN + c0 + c] = vec2(s1[c], s2[c]);
  }
}

void main() {
  const uint c0 = gl_WorkGroupID.y * CI_TILE;  // the tile: workgroup row y
  const uint ho = p.h + 2 * p.pad - K + 1;
  const uint wo = p.w + 2 * p.pad - K + 1;
  const uint lane = gl_GlobalInvocationID.x;
  if (DX_ON) {  // lane-uniform weight addresses: one scalar load each
    [[unroll]] for (uint c = 0; c < CI_TILE; ++c) {
      [[unroll]] for (uint o = 0; o < C_OUT; ++o) {
        [[unroll]] for (uint a = 0; a < K; ++a) {
          [[unroll]] for (uint b = 0; b < K; ++b) {
            wt[((c * C_OUT + o) * K + a) * K + b] = weight[((o * C_IN + c0 + c) * K + K - 1 - a) * K + K - 1 - b];
          }
        }
      }
    }
  }
  [[unroll]] for (uint t = 0; t < TILE4; ++t) dw_sums[t] = 0.0;
  [[dont_unroll]] for (uint s = 0; s < p.samples_per_lane; ++s) {
    const uint sample_index = lane + s * p.lanes;
    const uint safe = min(sample_index, p.n - 1);
    backward(safe * C_OUT * ho * wo, (safe * C_IN + c0) * p.h * p.w, sample_index < p.n, ho, wo,
             safe, c0);
  }
  const uint out_base = (gl_WorkGroupID.y * p.lanes + lane) * (TILE4 / 4);
  [[unroll]] for (uint t = 0; t < (DW_ON ? TILE4 : 0); t += 4) {
    partials[out_base + t / 4] = vec4(dw_sums[t], dw_sums[t + 1], dw_sums[t + 2], dw_sums[t + 3]);
  }
  if (DX_ON && NA_ON) nb_finish(p.n, C_IN, p.h * p.w);
}
