#version 460
#extension GL_GOOGLE_include_directive : require
// Global average pooling forward: x [N, C, H, W] -> y [N, C], the mean of each H x W plane.
// Each invocation sums one plane (the planes this pools are small: 5 x 5 in the seed net) in a
// fixed order, with four partial sums to shorten the dependency chain; grid-stride over planes.
// PACKED (x NC4HW4): an element is a vec4 of four channels, the planes are n * C/4, and y [N, C]
// is written four channels at a time.
#include "base.glsl"
#include "reads.glsl"

layout(push_constant) uniform Push {
  uint planes;  // n * C
  uint plane;   // H * W
  float inv_plane;
  uint pad;
} p;

layout(constant_id = 10) const bool PACKED = false;

READONLY_FLOATS4(0, x);
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 1) writeonly buffer Y4 { vec4 y4[]; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint q = gl_GlobalInvocationID.x; q < p.planes; q += stride) {
    const uint base = q * p.plane;
    if (PACKED) {
      vec4 a0 = vec4(0.0), a1 = vec4(0.0);
      uint i = 0;
      for (; i + 2 <= p.plane; i += 2) {
        a0 += LOAD4(x, base + i);
        a1 += LOAD4(x, base + i + 1);
      }
      if (i < p.plane) a0 += LOAD4(x, base + i);
      y4[q] = (a0 + a1) * p.inv_plane;
      continue;
    }
    vec4 acc = vec4(0.0);
    uint i = 0;
    for (; i + 4 <= p.plane; i += 4) {
      acc += vec4(LOAD(x, base + i), LOAD(x, base + i + 1), LOAD(x, base + i + 2), LOAD(x, base + i + 3));
    }
    for (; i < p.plane; ++i) acc.x += LOAD(x, base + i);
    y[q] = ((acc.x + acc.y) + (acc.z + acc.w)) * p.inv_plane;
  }
}
