#version 460
#extension GL_GOOGLE_include_directive : require
// conv2d's weight gradient from conv2d_backward.comp's per-lane partial sums: dw[i] = the sum over
// lanes l = 0, 1, ... of the lane's sum for weight i, in that order (bitwise reproducible, and
// bitwise what sgd_update_segments.comp adds). One invocation per weight.
// partials (weight_partials.glsl) -> dw [count] (the weight's shape, OIHW).
#include "base.glsl"
#include "reads.glsl"
#include "weight_partials.glsl"

layout(push_constant) uniform Push {
  uint count;   // weights: C_OUT * C_IN * K * K
  uint lanes;   // partial sums per weight
  uint row;     // weights per output channel: C_IN * K * K
  uint tile;    // weights per output channel in an input-channel tile: CI_TILE * K * K
  uint stride;  // a lane's set of sums: C_OUT * tile rounded up to a multiple of 4
} p;

READONLY_FLOATS(0, partials);
layout(set = 0, binding = 1) writeonly buffer DW { float dw[]; };

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.count) return;
  const uint base = weight_partial(i, p.row, p.tile, p.lanes, p.stride);
  float sum = 0.0;
  for (uint l = 0; l < p.lanes; ++l) sum += LOAD(partials, base + l * p.stride);
  dw[i] = sum;
}
