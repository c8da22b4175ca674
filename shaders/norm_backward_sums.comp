#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Norm backward (BatchNorm2d, GroupNorm), pass 1 of 3: per H x W plane, the sums the gradient needs. With
// g = dy masked by y > 0 when the ReLU is fused (RELU; with DROPOUT, y is the dropped output and g
// is scaled: norm_dropout.glsl), invocation p = n * C + c writes
// partials[p] = (sum g, sum g * (x - mean)) over plane (n, c), mean its statistic's
// (statistic_of in norm_push.glsl: its channel's for BatchNorm, its group's for GroupNorm).
// VEC4: H*W % 4 == 0, planes are read as vec4. PACKED: four planes per invocation
// (norm_push.glsl).
#include "base.glsl"
#include "norm_push.glsl"
#include "reads.glsl"
#include "norm_dropout.glsl"

layout(constant_id = 10) const bool VEC4 = false;
layout(constant_id = 12) const bool RELU = false;
layout(constant_id = 19) const bool PACKED = false;  // NC4HW4 x, y and dy (norm_push.glsl)


READONLY_FLOATS4(0, x);  // [N, C, H, W]
READONLY_FLOATS4(1, y);  // [N, C, H, W] (RELU only)
READONLY_FLOATS4(2, dy);  // [N, C, H, W]
layout(set = 0, binding = 3) readonly buffer Mean { float mean[]; };  // [statistics]
layout(set = 0, binding = 4) writeonly buffer Partials { vec2 partials[]; };  // [N, C]

// The four planes of invocation q at once (PACKED).
void sums4(uint q) {
  vec4 m;
  [[unroll]] for (uint k = 0; k < 4; ++k) m[k] = mean[statistic_of(4 * q + k)];
  vec4 a = vec4(0.0), b = vec4(0.0);
  for (uint i = q * p.plane; i < (q + 1) * p.plane; ++i) {
    vec4 g = LOAD4(dy, i);
    if (RELU) g = relu_dropout_backward(LOAD4(y, i), g);
    a += g;
    b += g * (LOAD4(x, i) - m);
  }
  [[unroll]] for (uint k = 0; k < 4; ++k) partials[4 * q + k] = vec2(a[k], b[k]);
}

void main() {
  if (PACKED) {
    if (gl_GlobalInvocationID.x < p.planes / 4) sums4(gl_GlobalInvocationID.x);
    return;
  }
  const uint plane = gl_GlobalInvocationID.x;
  if (plane >= p.planes) return;
  const float m = mean[statistic_of(plane)];
  const uint base = plane * p.plane;
  float s1 = 0.0;
  float s2 = 0.0;
  if (VEC4) {
    vec4 a = vec4(0.0);
    vec4 b = vec4(0.0);
    for (uint i = base / 4; i < (base + p.plane) / 4; ++i) {
      vec4 g = LOAD4(dy, i);
      if (RELU) g = relu_dropout_backward(LOAD4(y, i), g);
      a += g;
      b += g * (LOAD4(x, i) - m);
    }
    s1 = (a.x + a.y) + (a.z + a.w);
    s2 = (b.x + b.y) + (b.z + b.w);
  } else {
    for (uint i = base; i < base + p.plane; ++i) {
      float g = LOAD(dy, i);
      if (RELU) g = relu_dropout_backward(LOAD(y, i), g);
      s1 += g;
      s2 += g * (LOAD(x, i) - m);
    }
  }
  partials[plane] = vec2(s1, s2);
}
