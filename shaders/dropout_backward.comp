#version 460
#extension GL_GOOGLE_include_directive : require
// Dropout backward: dx = keep ? dy / (1 - p) : 0, the forward's mask regenerated.
// keep = rng_uniform(clock.seed ^ salt, global step, i) >= rate, i the flat NCHW index: a pure
// function of (seed, step, layer, element), never stored (nn/reference/activation.hpp is the
// spec). Grid-stride loop over vec4s with a scalar tail, as relu_forward.comp; the value is
// loaded unconditionally and selected, never a divergent load.
#include "base.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"

layout(push_constant) uniform Push {
  uint count;
  uint step;    // within the epoch; the clock turns it into the global step
  uint salt;    // distinguishes the dropout layers
  float rate;   // drop probability p
  float scale;  // 1 / (1 - p)
} p;

READONLY_FLOATS4(0, dy);
layout(set = 0, binding = 1) writeonly buffer DX4 { vec4 dx4[]; };
layout(set = 0, binding = 1) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 2) readonly buffer ClockBuffer { Clock clock; };

void main() {
  const uint seed = clock.seed ^ p.salt;
  const uint step = global_step(clock, p.step);
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const uint quads = p.count / 4;
  for (uint i = gl_GlobalInvocationID.x; i < quads; i += stride) {
    const uint e = 4 * i;
    const bvec4 keep = bvec4(rng_uniform(seed, step, e) >= p.rate,
                             rng_uniform(seed, step, e + 1) >= p.rate,
                             rng_uniform(seed, step, e + 2) >= p.rate,
                             rng_uniform(seed, step, e + 3) >= p.rate);
    dx4[i] = mix(vec4(0.0), LOAD4(dy, i) * p.scale, keep);
  }
  if (gl_GlobalInvocationID.x == 0) {
    for (uint i = quads * 4; i < p.count; ++i) {
      const float v = LOAD(dy, i);
      dx[i] = rng_uniform(seed, step, i) >= p.rate ? v * p.scale : 0.0;
    }
  }
}
