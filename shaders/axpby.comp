#version 460
#extension GL_GOOGLE_include_directive : require
// Elementwise out[i] = alpha * x[i] + beta * y[i] over n floats.
#include "base.glsl"

layout(push_constant) uniform Push {
  uint n;
  float alpha;
  float beta;
  uint pad;
} p;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer Y { float y[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float out_[]; };

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i < p.n) out_[i] = p.alpha * x[i] + p.beta * y[i];
}
