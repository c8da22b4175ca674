#version 460
#extension GL_GOOGLE_include_directive : require
// conv2d backward to the weight, pass 2 of 2: dw[i] = sum over the sets g = 0, 1, ... of
// partials[g, i], in that order (bitwise reproducible). One invocation per weight.
// partials [sets, count] -> dw [count] (the weight's shape, OIHW).
#include "base.glsl"

layout(push_constant) uniform Push {
  uint count;  // weights
  uint sets;   // partial sums per weight (invocations along x of pass 1)
} p;

layout(set = 0, binding = 0) readonly buffer Partials { float partials[]; };
layout(set = 0, binding = 1) writeonly buffer DW { float dw[]; };

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i >= p.count) return;
  float sum = 0.0;
  for (uint g = 0; g < p.sets; ++g) sum += partials[g * p.count + i];
  dw[i] = sum;
}
