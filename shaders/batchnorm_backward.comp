#version 460
#extension GL_GOOGLE_include_directive : require
// BatchNorm2d backward, pass 3 of 3: dx = k1 * (g + a * (x - mean) + b) with the channel's
// coef = (mean, k1, a, b) from batchnorm_backward_finalize.comp and g = dy masked by y > 0 when
// the ReLU is fused (RELU; with DROPOUT y is the dropped output and g is scaled:
// norm_dropout.glsl). Invocation p = n * C + c writes plane (n, c); VEC4: H*W % 4 == 0, as vec4.
#include "base.glsl"
#include "reads.glsl"
#include "norm_dropout.glsl"

layout(constant_id = 10) const bool VEC4 = false;
layout(constant_id = 12) const bool RELU = false;

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
READONLY_FLOATS4(1, y);  // [N, C, H, W] (RELU only)
READONLY_FLOATS4(2, dy);  // [N, C, H, W]
layout(set = 0, binding = 3) readonly buffer Coef { vec4 coef[]; };  // [C] (mean, k1, a, b)
layout(set = 0, binding = 4) writeonly buffer Dx { float dx[]; };  // [N, C, H, W]
layout(set = 0, binding = 4) writeonly buffer Dx4 { vec4 dx4[]; };

void main() {
  const uint plane = gl_GlobalInvocationID.x;
  if (plane >= p.planes) return;
  const vec4 k = coef[plane % p.channels];
  const uint base = plane * p.plane;
  if (VEC4) {
    for (uint i = base / 4; i < (base + p.plane) / 4; ++i) {
      vec4 g = LOAD4(dy, i);
      if (RELU) g = relu_dropout_backward(LOAD4(y, i), g);
      dx4[i] = k.y * (g + k.z * (LOAD4(x, i) - k.x) + k.w);
    }
  } else {
    for (uint i = base; i < base + p.plane; ++i) {
      float g = LOAD(dy, i);
      if (RELU) g = relu_dropout_backward(LOAD(y, i), g);
      dx[i] = k.y * (g + k.z * (LOAD(x, i) - k.x) + k.w);
    }
  }
}
