#version 460
#extension GL_GOOGLE_include_directive : require
// GroupNorm forward, pass 3 of 3: y = (x - mean[s]) * invstd[s] * gamma[c] + beta[c] for plane
// p = n * C + c of group s = p / (C / groups), then max(y, 0) with RELU (the net's norm -> ReLU,
// fused), then dropped with DROPOUT (training: norm_dropout.glsl). Invocation p writes plane p;
// VEC4: H*W % 4 == 0, as vec4.
#include "base.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"
#include "norm_dropout.glsl"

layout(constant_id = 10) const bool VEC4 = false;
layout(constant_id = 11) const bool AFFINE = true;
layout(constant_id = 12) const bool RELU = false;

layout(push_constant) uniform Push {
  uint n;
  uint channels;
  uint plane;
  uint planes;
  uint groups;
  uint group_channels;
  float inv_count;
  float eps;
  uint step;  // DROPOUT: the step within the epoch (the clock makes it global)
} p;

READONLY_FLOATS4(0, x);  // [N, C, H, W]
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };  // [N, C, H, W]
layout(set = 0, binding = 1) writeonly buffer Y4 { vec4 y4[]; };
layout(set = 0, binding = 2) readonly buffer Mean { float save_mean[]; };  // [N, groups]
layout(set = 0, binding = 3) readonly buffer Invstd { float save_invstd[]; };
layout(set = 0, binding = 4) readonly buffer Gamma { float gamma[]; };  // [C]
layout(set = 0, binding = 5) readonly buffer Beta { float beta[]; };    // [C]
layout(set = 0, binding = 6) readonly buffer ClockBuffer { Clock clock; };  // DROPOUT only

void main() {
  const uint plane = gl_GlobalInvocationID.x;
  if (plane >= p.planes) return;
  const uint s = plane / p.group_channels;
  const uint c = plane % p.channels;
  const float m = save_mean[s];
  const float scale = AFFINE ? save_invstd[s] * gamma[c] : save_invstd[s];
  const float shift = AFFINE ? beta[c] : 0.0;
  const uint base = plane * p.plane;
  const uint seed = DROPOUT ? clock.seed ^ DROP_SALT : 0;
  const uint step = DROPOUT ? global_step(clock, p.step) : 0;
  if (VEC4) {
    for (uint i = base / 4; i < (base + p.plane) / 4; ++i) {
      const vec4 v = (LOAD4(x, i) - m) * scale + shift;
      const vec4 r = RELU ? max(v, vec4(0.0)) : v;
      if (DROPOUT) {
        const uint e = 4 * i;
        const bvec4 keep = bvec4(rng_uniform(seed, step, e) >= DROP_P, rng_uniform(seed, step, e + 1) >= DROP_P,
                                 rng_uniform(seed, step, e + 2) >= DROP_P, rng_uniform(seed, step, e + 3) >= DROP_P);
        y4[i] = mix(vec4(0.0), r * DROP_SCALE, keep);
      } else {
        y4[i] = r;
      }
    }
  } else {
    for (uint i = base; i < base + p.plane; ++i) {
      const float v = (LOAD(x, i) - m) * scale + shift;
      const float r = RELU ? max(v, 0.0) : v;
      y[i] = DROPOUT ? (rng_uniform(seed, step, i) >= DROP_P ? r * DROP_SCALE : 0.0) : r;
    }
  }
}
