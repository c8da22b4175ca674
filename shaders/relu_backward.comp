#version 460
#extension GL_GOOGLE_include_directive : require
// ReLU backward over `count` floats, from the forward's output: dx = y > 0 ? dy : 0.
// Grid-stride loop over vec4s with a scalar tail, as relu_forward.comp. dy is loaded
// unconditionally: a select, not a divergent load (which costs lavapipe 4x).
#include "base.glsl"

layout(push_constant) uniform Push {
  uint count;
} p;

layout(set = 0, binding = 0) readonly buffer Y4 { vec4 y4[]; };
layout(set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer DY4 { vec4 dy4[]; };
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) writeonly buffer DX4 { vec4 dx4[]; };
layout(set = 0, binding = 2) writeonly buffer DX { float dx[]; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const uint quads = p.count / 4;
  for (uint i = gl_GlobalInvocationID.x; i < quads; i += stride) {
    dx4[i] = mix(vec4(0.0), dy4[i], greaterThan(y4[i], vec4(0.0)));
  }
  if (gl_GlobalInvocationID.x == 0) {
    for (uint i = quads * 4; i < p.count; ++i) {
      const float g = dy[i];
      dx[i] = y[i] > 0.0 ? g : 0.0;
    }
  }
}
