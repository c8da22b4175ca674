#version 460
#extension GL_GOOGLE_include_directive : require
// ReLU backward over `count` floats, from the forward's output: dx = y > 0 ? dy : 0.
// Grid-stride loop over vec4s with a scalar tail, as relu_forward.comp. dy is loaded
// unconditionally: a select, not a divergent load (which costs lavapipe 4x).
#include "base.glsl"
#include "reads.glsl"

layout(push_constant) uniform Push {
  uint count;
} p;

READONLY_FLOATS4(0, y);
READONLY_FLOATS4(1, dy);
layout(set = 0, binding = 2) writeonly buffer DX4 { vec4 dx4[]; };
layout(set = 0, binding = 2) writeonly buffer DX { float dx[]; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const uint quads = p.count / 4;
  for (uint i = gl_GlobalInvocationID.x; i < quads; i += stride) {
    dx4[i] = mix(vec4(0.0), LOAD4(dy, i), greaterThan(LOAD4(y, i), vec4(0.0)));
  }
  if (gl_GlobalInvocationID.x == 0) {
    for (uint i = quads * 4; i < p.count; ++i) {
      const float g = LOAD(dy, i);
      dx[i] = LOAD(y, i) > 0.0 ? g : 0.0;
    }
  }
}
