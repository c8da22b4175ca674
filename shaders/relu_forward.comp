#version 460
#extension GL_GOOGLE_include_directive : require
// ReLU forward over `count` floats: y = x > 0 ? x : 0. A grid-stride loop: the host launches a
// few elements' worth fewer invocations than elements, so each invocation handles several while
// neighbouring invocations touch neighbouring elements.
#include "base.glsl"

layout(push_constant) uniform Push {
  uint count;
} p;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
    const float v = x[i];
    y[i] = v > 0.0 ? v : 0.0;
  }
}
