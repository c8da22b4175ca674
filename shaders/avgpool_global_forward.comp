#version 460
#extension GL_GOOGLE_include_directive : require
// Global average pooling forward: x [N, C, H, W] -> y [N, C], the mean of each H x W plane.
// Each invocation sums one plane (the planes this pools are small: 5 x 5 in the seed net) in a
// fixed order, with four partial sums to shorten the dependency chain; grid-stride over planes.
#include "base.glsl"
#include "reads.glsl"

layout(push_constant) uniform Push {
  uint planes;  // n * C
  uint plane;   // H * W
  float inv_plane;
  uint pad;
} p;

READONLY_FLOATS(0, x);
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint q = gl_GlobalInvocationID.x; q < p.planes; q += stride) {
    const uint base = q * p.plane;
    vec4 acc = vec4(0.0);
    uint i = 0;
    for (; i + 4 <= p.plane; i += 4) {
      acc += vec4(LOAD(x, base + i), LOAD(x, base + i + 1), LOAD(x, base + i + 2), LOAD(x, base + i + 3));
    }
    for (; i < p.plane; ++i) acc.x += LOAD(x, base + i);
    y[q] = ((acc.x + acc.y) + (acc.z + acc.w)) * p.inv_plane;
  }
}
