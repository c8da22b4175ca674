#version 460
#extension GL_GOOGLE_include_directive : require
// vkbench's FMA ceiling, scalar: each invocation runs 8 independent chains acc = fma(acc, a, b)
// for 4 x `iterations` steps (16 FLOP per step: an FMA counts 2). a and b come from push constants
// and every chain reaches the output, so no compiler can fold or drop the work.
#include "base.glsl"

// One step of every chain; an iteration runs four (fewer loop tests per FMA).
#define STEP \
  c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b); \
  c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);

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
  const float a = p.a;
  const float b = p.b;
  for (uint t = 0; t < p.iterations; ++t) {
    STEP STEP STEP STEP STEP STEP STEP STEP
  }
  if (i < p.count) out_[i] = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7));
}
