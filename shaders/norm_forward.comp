#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Norm forward (BatchNorm2d, GroupNorm), the output pass: y = (x - mean) * invstd * gamma[c] +
// beta[c] with the plane's statistic (statistic_of in norm_push.glsl: its channel's for BatchNorm,
// its sample's group's for GroupNorm), then max(y, 0) with RELU (the net's norm -> ReLU, fused),
// then dropped with DROPOUT (training: norm_dropout.glsl). Training binds the saved mean and
// invstd; EVAL (BatchNorm) binds the running mean and variance and takes invstd =
// 1/sqrt(var + eps). Invocation p = n * C + c writes plane (n, c); VEC4: H*W % 4 == 0, as vec4;
// PACKED: four planes per invocation (norm_push.glsl).
#include "base.glsl"
#include "norm_push.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"
#include "norm_dropout.glsl"

layout(constant_id = 10) const bool VEC4 = false;
layout(constant_id = 11) const bool AFFINE = true;
layout(constant_id = 12) const bool RELU = false;
layout(constant_id = 13) const bool EVAL = false;
layout(constant_id = 19) const bool PACKED = false;  // NC4HW4 x and y (norm_push.glsl)


READONLY_FLOATS4(0, x);  // [N, C, H, W]
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };  // [N, C, H, W]
layout(set = 0, binding = 1) writeonly buffer Y4 { vec4 y4[]; };
layout(set = 0, binding = 2) readonly buffer Mean { float mean[]; };     // [statistics]
layout(set = 0, binding = 3) readonly buffer Spread { float spread[]; };  // invstd, or var (EVAL)
layout(set = 0, binding = 4) readonly buffer Gamma { float gamma[]; };   // [C]
layout(set = 0, binding = 5) readonly buffer Beta { float beta[]; };     // [C]
layout(set = 0, binding = 6) readonly buffer ClockBuffer { Clock clock; };  // DROPOUT only

// The four planes of invocation q at once (PACKED).
void forward4(uint q) {
  vec4 m, scale, shift;
  [[unroll]] for (uint k = 0; k < 4; ++k) {
    const uint plane = 4 * q + k;
    const uint c = plane % p.channels;
    const uint stat = statistic_of(plane);
    m[k] = mean[stat];
    const float invstd = EVAL ? 1.0 / sqrt(spread[stat] + p.eps) : spread[stat];
    scale[k] = AFFINE ? invstd * gamma[c] : invstd;
    shift[k] = AFFINE ? beta[c] : 0.0;
  }
  const uint key = DROPOUT ? rng_key(clock.seed ^ DROP_SALT, global_step(clock, p.step)) : 0u;
  const uint base = q * p.plane;
  for (uint i = 0; i < p.plane; ++i) {
    const vec4 v = (LOAD4(x, base + i) - m) * scale + shift;
    const vec4 r = RELU ? max(v, vec4(0.0)) : v;
    if (DROPOUT) {  // the mask of element (n, c, i) by its NCHW index, as nn/reference's
      const uint e = 4 * q * p.plane + i;
      const bvec4 keep = bvec4(rng_uniform_keyed(key, e) >= DROP_P,
                               rng_uniform_keyed(key, e + p.plane) >= DROP_P,
                               rng_uniform_keyed(key, e + 2 * p.plane) >= DROP_P,
                               rng_uniform_keyed(key, e + 3 * p.plane) >= DROP_P);
      y4[base + i] = mix(vec4(0.0), r * DROP_SCALE, keep);
    } else {
      y4[base + i] = r;
    }
  }
}

void main() {
  if (PACKED) {
    if (gl_GlobalInvocationID.x < p.planes / 4) forward4(gl_GlobalInvocationID.x);
    return;
  }
  const uint plane = gl_GlobalInvocationID.x;
  if (plane >= p.planes) return;
  const uint c = plane % p.channels;
  const uint stat = statistic_of(plane);
  const float m = mean[stat];
  const float invstd = EVAL ? 1.0 / sqrt(spread[stat] + p.eps) : spread[stat];
  const float scale = AFFINE ? invstd * gamma[c] : invstd;
  const float shift = AFFINE ? beta[c] : 0.0;
  const uint base = plane * p.plane;
  const uint key = DROPOUT ? rng_key(clock.seed ^ DROP_SALT, global_step(clock, p.step)) : 0u;
  if (VEC4) {
    for (uint i = base / 4; i < (base + p.plane) / 4; ++i) {
      const vec4 v = (LOAD4(x, i) - m) * scale + shift;
      const vec4 r = RELU ? max(v, vec4(0.0)) : v;
      if (DROPOUT) {
        const uint e = 4 * i;
        const bvec4 keep = bvec4(rng_uniform_keyed(key, e) >= DROP_P, rng_uniform_keyed(key, e + 1) >= DROP_P,
                                 rng_uniform_keyed(key, e + 2) >= DROP_P, rng_uniform_keyed(key, e + 3) >= DROP_P);
        y4[i] = mix(vec4(0.0), r * DROP_SCALE, keep);
      } else {
        y4[i] = r;
      }
    }
  } else {
    for (uint i = base; i < base + p.plane; ++i) {
      const float v = (LOAD(x, i) - m) * scale + shift;
      const float r = RELU ? max(v, 0.0) : v;
      y[i] = DROPOUT ? (rng_uniform_keyed(key, i) >= DROP_P ? r * DROP_SCALE : 0.0) : r;
    }
  }
}
