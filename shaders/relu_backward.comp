#version 460
#extension GL_GOOGLE_include_directive : require
// ReLU backward over `count` floats, from the forward's output: dx = y > 0 ? dy : 0.
// Grid-stride loop as relu_forward.comp.
#include "base.glsl"

layout(push_constant) uniform Push {
  uint count;
} p;

layout(set = 0, binding = 0) readonly buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 2) writeonly buffer DX { float dx[]; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
    dx[i] = y[i] > 0.0 ? dy[i] : 0.0;
  }
}
