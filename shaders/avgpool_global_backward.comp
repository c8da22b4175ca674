#version 460
#extension GL_GOOGLE_include_directive : require
// Global average pooling backward: dy [N, C] -> dx [N, C, H, W] = dy / (H * W) over each plane.
// Each invocation fills one plane; grid-stride over planes. PACKED (dx NC4HW4): four
// channels' planes at once, the planes n * C/4.
#include "base.glsl"
#include "reads.glsl"

layout(push_constant) uniform Push {
  uint planes;  // n * C
  uint plane;   // H * W
  float inv_plane;
  uint step;      // unused here (the forward's fused input norm)
  uint channels;  // C
} p;

layout(constant_id = 10) const bool PACKED = false;

READONLY_FLOATS4(0, dy);
layout(set = 0, binding = 1) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 1) writeonly buffer DX4 { vec4 dx4[]; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint q = gl_GlobalInvocationID.x; q < p.planes; q += stride) {
    if (PACKED) {
      const vec4 g = LOAD4(dy, q) * p.inv_plane;
      for (uint i = 0; i < p.plane; ++i) dx4[q * p.plane + i] = g;
      continue;
    }
    const float g = LOAD(dy, q) * p.inv_plane;
    const uint base = q * p.plane;
    for (uint i = 0; i < p.plane; ++i) dx[base + i] = g;
  }
}
