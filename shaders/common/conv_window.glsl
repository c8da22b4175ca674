// The sliding input window of conv2d_forward.comp and conv2d_backward_weight.comp: ROWS + K - 1
// input rows by K columns of every input channel, in registers, slid one column at a time. With
// NA_ON (norm_apply.glsl) x is a norm's input z and the window holds the norm's output after its
// ReLU and dropout, computed as each value is loaded; padding stays zero.
//
// The includer declares C_IN, K, WIN (= ROWS + K - 1), PACKED_IN, the push constants p.h, p.w
// (input size) and p.step (the step within the epoch), the tensor x (reads.glsl), and includes
// clock.glsl, rng.glsl and norm_apply.glsl first.

float win[C_IN * WIN * K];  // the window [C_IN, WIN, K]
vec3 na_k[C_IN];            // NA_ON: the sample's (mean, scale, shift) per input channel
NaStream na_dropout;        // NA_ON: the step's dropout stream

// Before a sample's first window: its norm coefficients (NA_ON).
void window_begin_sample(uint n_index) {
  if (!NA_ON) return;
  [[unroll]] for (uint c = 0; c < C_IN; ++c) na_k[c] = na_coefficients(n_index, c, C_IN);
  na_dropout = na_stream(p.step);
}

// The value of x at flat index i (channel c) as the window holds it.
float window_value(float v, uint c, uint i) {
  return NA_ON ? na_apply(v, na_k[c], na_dropout, i) : v;
}

// x[sample at base, c, row, col], zero in the padding (the load itself is clamped: no branch).
float load_x(uint base, uint c, int row, int col) {
  const bool inside = row >= 0 && row < int(p.h) && col >= 0 && col < int(p.w);
  const uint r = uint(clamp(row, 0, int(p.h) - 1));
  const uint q = uint(clamp(col, 0, int(p.w) - 1));
  const uint i = base + (c * p.h + r) * p.w + q;
  return inside ? window_value(LOAD(x, i), c, i) : 0.0;
}

// Slides the window one column right: input column `col` of rows top .. top + WIN - 1 enters.
// x_base: the sample's first element (its flat NCHW index in either layout).
void advance(uint x_base, int top, int col) {
  if (PACKED_IN) {
    const bool col_inside = col >= 0 && col < int(p.w);
    const uint q = uint(clamp(col, 0, int(p.w) - 1));
    [[unroll]] for (uint g = 0; g < C_IN / 4; ++g) {
      [[unroll]] for (uint r = 0; r < WIN; ++r) {
        const int row_i = top + int(r);
        const bool inside = col_inside && row_i >= 0 && row_i < int(p.h);
        const uint rr = uint(clamp(row_i, 0, int(p.h) - 1));
        const vec4 v = LOAD4(x, x_base / 4 + (g * p.h + rr) * p.w + q);
        [[unroll]] for (uint k = 0; k < 4; ++k) {
          const uint c = 4 * g + k;
          const uint row = (c * WIN + r) * K;
          [[unroll]] for (uint b = 0; b + 1 < K; ++b) win[row + b] = win[row + b + 1];
          win[row + K - 1] = inside ? window_value(v[k], c, x_base + (c * p.h + rr) * p.w + q) : 0.0;
        }
      }
    }
    return;
  }
  [[unroll]] for (uint c = 0; c < C_IN; ++c) {
    [[unroll]] for (uint r = 0; r < WIN; ++r) {
      const uint row = (c * WIN + r) * K;
      [[unroll]] for (uint b = 0; b + 1 < K; ++b) win[row + b] = win[row + b + 1];
      win[row + K - 1] = load_x(x_base, c, top + int(r), col);
    }
  }
}
