#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// conv2d weight gradient, the GPU shape (nn::Conv2d where the device's kernel shape is gpu):
//   dw[o, c, a, b] = sum_{n, i, j} dy[n, o, i, j] * x[n, c, i + a - pad, j + b - pad]
// split over the batch: invocation x of the dispatch is weight x (OIHW), workgroup row y a chunk
// of samples_per_lane consecutive samples, whose sum it writes as lane y of the weight partials
// (nn::WeightPartials with one tile: [lanes, STRIDE]); the update, or
// conv2d_backward_weight_reduce.comp, adds the lanes in order. No atomics: bitwise reproducible.
// Neighbouring invocations share their dy plane and read overlapping windows of x.
//
// The fusions of conv2d_backward_weight.comp: NA_ON, x is a norm's input z and the sums take the
// norm's output after its ReLU and dropout (norm_apply.glsl); NG_ON, dy is turned into the
// gradient of the conv's output as it is read (norm_gradient.glsl). Bindings as that kernel's.
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
layout(constant_id = 16) const bool PACKED_IN = false;   // NC4HW4 x
layout(constant_id = 17) const bool PACKED_OUT = false;  // NC4HW4 dy
layout(constant_id = 18) const uint STRIDE = 1;  // a lane's set: C_OUT * C_IN * K * K padded to 4

layout(push_constant) uniform Push {
  uint n;                 // samples in this batch
  uint samples_per_lane;  // samples per chunk (workgroup row)
  uint lanes;             // chunks
  uint h;                 // input height
  uint w;                 // input width
  uint pad;               // zero padding on every side
  uint step;              // NA_ON: the step within the epoch (dropout)
} p;

READONLY_FLOATS4(0, x);
READONLY_FLOATS4(1, dy);
layout(set = 0, binding = 2) writeonly buffer Partials { float partials[]; };  // [lanes, STRIDE]

// Element (n, c, row, col) of an [N, channels, rows, cols] tensor in its layout, as a float index
// for LOAD (NC4HW4: the vec4 of channel group c / 4, component c % 4).
uint element(bool packed, uint n, uint c, uint channels, uint row, uint col, uint rows, uint cols) {
  if (!packed) return ((n * channels + c) * rows + row) * cols + col;
  return (((n * channels + c - c % 4) * rows + 4 * row) * cols + 4 * col) + c % 4;
}

void main() {
  const uint weights = C_OUT * C_IN * K * K;
  const uint i = gl_GlobalInvocationID.x;
  if (i >= weights) return;
  const uint o = i / (C_IN * K * K);
  const uint c = (i / (K * K)) % C_IN;
  const uint a = (i / K) % K;
  const uint b = i % K;
  const uint ho = p.h + 2 * p.pad - K + 1;
  const uint wo = p.w + 2 * p.pad - K + 1;
  const uint first = gl_WorkGroupID.y * p.samples_per_lane;
  const uint last = min(first + p.samples_per_lane, p.n);
  const NaStream stream = na_stream(p.step);
  float sum = 0.0;
  for (uint s = first; s < last; ++s) {
    const vec4 ng_k = NG_ON ? ng_coefficients(s, o, C_OUT) : vec4(0.0);
    const vec3 na_k = NA_ON ? na_coefficients(s, c, C_IN) : vec3(0.0);
    for (uint oi = 0; oi < ho; ++oi) {
      const int row = int(oi + a) - int(p.pad);
      for (uint oj = 0; oj < wo; ++oj) {
        const int col = int(oj + b) - int(p.pad);
        if (row < 0 || row >= int(p.h) || col < 0 || col >= int(p.w)) continue;
        const uint at = element(PACKED_OUT, s, o, C_OUT, oi, oj, ho, wo);
        const float g = NG_ON ? ng_gradient(LOAD(dy, at), LOAD(ng_z, at), ng_k) : LOAD(dy, at);
        const float z = LOAD(x, element(PACKED_IN, s, c, C_IN, uint(row), uint(col), p.h, p.w));
        // The dropout mask is indexed by the flat NCHW index, whatever the layout.
        const uint e = ((s * C_IN + c) * p.h + uint(row)) * p.w + uint(col);
        sum = fma(g, NA_ON ? na_apply(z, na_k, stream, e) : z, sum);
      }
    }
  }
  partials[gl_WorkGroupID.y * STRIDE + i] = sum;
}
