#version 460
#extension GL_GOOGLE_include_directive : require
// vkbench's FMA ceiling, scalar: each invocation runs 8 independent chains acc = fma(acc, a, b)
// for `iterations` steps (16 FLOP per step: an FMA counts 2). a and b come from push constants
// and every chain reaches the output, so no compiler can fold or drop the work.
#include "base.glsl"

layout(push_constant) uniform Push {
  uint iterations;
  float a;
  float b;
  uint count;  // invocations that write their result
} p;

layout(set = 0, binding = 0) writeonly buffer Out { float out_[]; };

void main() {
  const uint i = gl_GlobalInvocationID.x;
  // Start values differ per invocation (64 patterns, so the host can check every result).
  const float s = float(i & 63u) * (1.0 / 64.0);
  float c0 = s, c1 = s + 0.1, c2 = s + 0.2, c3 = s + 0.3;
  float c4 = s + 0.4, c5 = s + 0.5, c6 = s + 0.6, c7 = s + 0.7;
  for (uint t = 0; t < p.iterations; ++t) {
    c0 = fma(c0, p.a, p.b);
    c1 = fma(c1, p.a, p.b);
    c2 = fma(c2, p.a, p.b);
    c3 = fma(c3, p.a, p.b);
    c4 = fma(c4, p.a, p.b);
    c5 = fma(c5, p.a, p.b);
    c6 = fma(c6, p.a, p.b);
    c7 = fma(c7, p.a, p.b);
  }
  if (i < p.count) out_[i] = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7));
}
