#version 460
#extension GL_GOOGLE_include_directive : require
// BatchNorm2d forward, the output pass: y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c],
// then max(y, 0) with RELU (the net's norm -> ReLU, fused). Training binds the batch's saved
// mean and invstd; EVAL binds the running mean and variance and takes invstd = 1/sqrt(var + eps).
// Invocation p = n * C + c writes plane (n, c); VEC4: H*W % 4 == 0, as vec4.
#include "base.glsl"
#include "reads.glsl"

layout(constant_id = 10) const bool VEC4 = false;
layout(constant_id = 11) const bool AFFINE = true;
layout(constant_id = 12) const bool RELU = false;
layout(constant_id = 13) const bool EVAL = false;

layout(push_constant) uniform Push {
  uint n;
  uint channels;
  uint plane;
  uint planes;
  float inv_count;
  float eps;
  float momentum;
  float unbias;
} p;

READONLY_FLOATS4(0, x);  // [N, C, H, W]
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };  // [N, C, H, W]
layout(set = 0, binding = 1) writeonly buffer Y4 { vec4 y4[]; };
layout(set = 0, binding = 2) readonly buffer Mean { float mean[]; };     // [C]
layout(set = 0, binding = 3) readonly buffer Spread { float spread[]; };  // [C] invstd, or var (EVAL)
layout(set = 0, binding = 4) readonly buffer Gamma { float gamma[]; };   // [C]
layout(set = 0, binding = 5) readonly buffer Beta { float beta[]; };     // [C]

void main() {
  const uint plane = gl_GlobalInvocationID.x;
  if (plane >= p.planes) return;
  const uint c = plane % p.channels;
  const float m = mean[c];
  const float invstd = EVAL ? 1.0 / sqrt(spread[c] + p.eps) : spread[c];
  const float scale = AFFINE ? invstd * gamma[c] : invstd;
  const float shift = AFFINE ? beta[c] : 0.0;
  const uint base = plane * p.plane;
  if (VEC4) {
    for (uint i = base / 4; i < (base + p.plane) / 4; ++i) {
      const vec4 v = (LOAD4(x, i) - m) * scale + shift;
      y4[i] = RELU ? max(v, vec4(0.0)) : v;
    }
  } else {
    for (uint i = base; i < base + p.plane; ++i) {
      const float v = (LOAD(x, i) - m) * scale + shift;
      y[i] = RELU ? max(v, 0.0) : v;
    }
  }
}
