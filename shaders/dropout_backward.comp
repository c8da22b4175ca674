#version 460
#extension GL_GOOGLE_include_directive : require
// Dropout backward: dx = keep ? dy / (1 - p) : 0, the forward's mask regenerated.
// keep = rng_uniform(clock.seed ^ salt, global step, i) >= rate, i the flat NCHW index: a pure
// function of (seed, step, layer, element), never stored (nn/reference/activation.hpp is the
// spec). Grid-stride loop as relu_forward.comp.
#include "base.glsl"
#include "clock.glsl"
#include "rng.glsl"

layout(push_constant) uniform Push {
  uint count;
  uint step;   // within the epoch; the clock turns it into the global step
  uint salt;   // distinguishes the dropout layers
  float rate;  // drop probability p
  float scale; // 1 / (1 - p)
} p;

layout(set = 0, binding = 0) readonly buffer DY { float dy[]; };
layout(set = 0, binding = 1) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 2) readonly buffer ClockBuffer { Clock clock; };

void main() {
  const uint seed = clock.seed ^ p.salt;
  const uint step = global_step(clock, p.step);
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < p.count; i += stride) {
    dx[i] = rng_uniform(seed, step, i) >= p.rate ? dy[i] * p.scale : 0.0;
  }
}
