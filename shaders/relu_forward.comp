#version 460
#extension GL_GOOGLE_include_directive : require
// ReLU forward over `count` floats: y = x > 0 ? x : 0. A grid-stride loop over vec4s: the host
// launches several times fewer invocations than quads, so each handles a few while neighbouring
// invocations touch neighbouring quads; invocation 0 also does the last count % 4 floats. (On
// lavapipe a vec4 access costs about what a float does: this halves the time.)
#include "base.glsl"
#include "reads.glsl"

layout(push_constant) uniform Push {
  uint count;
} p;

// Each buffer seen both as vec4s (the bulk) and as floats (the tail).
READONLY_FLOATS4(0, x);
layout(set = 0, binding = 1) writeonly buffer Y4 { vec4 y4[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const uint quads = p.count / 4;
  for (uint i = gl_GlobalInvocationID.x; i < quads; i += stride) {
    const vec4 v = LOAD4(x, i);
    y4[i] = mix(vec4(0.0), v, greaterThan(v, vec4(0.0)));  // a select: -0 and NaN give 0
  }
  if (gl_GlobalInvocationID.x == 0) {
    for (uint i = quads * 4; i < p.count; ++i) y[i] = LOAD(x, i) > 0.0 ? LOAD(x, i) : 0.0;
  }
}
