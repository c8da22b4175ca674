#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Norm backward (BatchNorm2d, GroupNorm), pass 3 of 3: dx = k1 * (gamma[c] * g + a * (x - mean)
// + b) with the plane's statistic's coef = (mean, k1, a, b) from the norm's backward_finalize
// (statistic_of in norm_push.glsl) and g = dy masked by y > 0 when the ReLU is fused (RELU; with
// DROPOUT y is the dropped output and g is scaled: norm_dropout.glsl). AFFINE: multiply g by
// gamma[c] here (GroupNorm, whose statistic spans several channels); BatchNorm folds its channel's
// gamma into k1 and sets AFFINE false. Invocation p = n * C + c writes plane p; VEC4: H*W % 4 ==
// 0, as vec4; PACKED: four planes per invocation (norm_push.glsl).
#include "base.glsl"
#include "norm_push.glsl"
#include "reads.glsl"
#include "norm_dropout.glsl"

layout(constant_id = 10) const bool VEC4 = false;
layout(constant_id = 11) const bool AFFINE = true;
layout(constant_id = 12) const bool RELU = false;
layout(constant_id = 19) const bool PACKED = false;  // NC4HW4 x, y, dy and dx (norm_push.glsl)


READONLY_FLOATS4(0, x);  // [N, C, H, W]
READONLY_FLOATS4(1, y);  // [N, C, H, W] (RELU only)
READONLY_FLOATS4(2, dy);  // [N, C, H, W]
layout(set = 0, binding = 3) readonly buffer Gamma { float gamma[]; };  // [C] (AFFINE only)
layout(set = 0, binding = 4) readonly buffer Coef { vec4 coef[]; };  // [statistics]
layout(set = 0, binding = 5) writeonly buffer Dx { float dx[]; };  // [N, C, H, W]
layout(set = 0, binding = 5) writeonly buffer Dx4 { vec4 dx4[]; };

// The four planes of invocation q at once (PACKED).
void backward4(uint q) {
  vec4 mean4, k1, ka, kb, scale;
  [[unroll]] for (uint k = 0; k < 4; ++k) {
    const vec4 c = coef[statistic_of(4 * q + k)];
    mean4[k] = c.x;
    k1[k] = c.y;
    ka[k] = c.z;
    kb[k] = c.w;
    scale[k] = AFFINE ? gamma[(4 * q + k) % p.channels] : 1.0;
  }
  for (uint i = q * p.plane; i < (q + 1) * p.plane; ++i) {
    vec4 g = LOAD4(dy, i);
    if (RELU) g = relu_dropout_backward(LOAD4(y, i), g);
    dx4[i] = k1 * (scale * g + ka * (LOAD4(x, i) - mean4) + kb);
  }
}

void main() {
  if (PACKED) {
    if (gl_GlobalInvocationID.x < p.planes / 4) backward4(gl_GlobalInvocationID.x);
    return;
  }
  const uint plane = gl_GlobalInvocationID.x;
  if (plane >= p.planes) return;
  const vec4 k = coef[statistic_of(plane)];
  const float scale = AFFINE ? gamma[plane % p.channels] : 1.0;
  const uint base = plane * p.plane;
  if (VEC4) {
    for (uint i = base / 4; i < (base + p.plane) / 4; ++i) {
      vec4 g = LOAD4(dy, i);
      if (RELU) g = relu_dropout_backward(LOAD4(y, i), g);
      dx4[i] = k.y * (scale * g + k.z * (LOAD4(x, i) - k.x) + k.w);
    }
  } else {
    for (uint i = base; i < base + p.plane; ++i) {
      float g = LOAD(dy, i);
      if (RELU) g = relu_dropout_backward(LOAD(y, i), g);
      dx[i] = k.y * (scale * g + k.z * (LOAD(x, i) - k.x) + k.w);
    }
  }
}
