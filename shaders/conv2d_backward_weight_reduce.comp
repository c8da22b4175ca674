#version 460
#extension GL_GOOGLE_include_directive : require
// conv2d backward to the weight, pass 2 of 2: dw[o, c, a, b] = the sum over lanes l = 0, 1, ...
// of pass 1's partials[tile of o, l, (o mod tile, c, a, b)], in that order (bitwise
// reproducible). One invocation per weight.
// partials [tiles, lanes, tile_padded] -> dw [count] (the weight's shape, OIHW).
#include "base.glsl"
#include "reads.glsl"

layout(push_constant) uniform Push {
  uint count;        // weights: C_OUT * C_IN * K * K
  uint lanes;        // partial sums per weight (pass 1's invocations along x)
  uint tile;         // weights per tile: CO_TILE * C_IN * K * K
  uint tile_padded;  // tile rounded up to a multiple of 4
} p;

READONLY_FLOATS(0, partials);
layout(set = 0, binding = 1) writeonly buffer DW { float dw[]; };

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.count) return;
  const uint tile = i / p.tile;
  const uint base = tile * p.lanes * p.tile_padded + (i - tile * p.tile);
  float sum = 0.0;
  for (uint l = 0; l < p.lanes; ++l) sum += LOAD(partials, base + l * p.tile_padded);
  dw[i] = sum;
}
