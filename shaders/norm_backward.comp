#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Norm backward (BatchNorm2d, GroupNorm), pass 2 of 2: dx = k1 * (gamma[c] * g + a * (x - mean)
// + b) with the plane's statistic's coef = (mean, k1, a, b) that the sums' last workgroup wrote
// (norm_finalize.glsl; statistic_of in norm_push.glsl) and g = dy, or with the ReLU (and
// dropout) fused after the norm (NA_ON) the gradient reaching the normalized value, its mask
// recomputed from x (norm_apply.glsl). AFFINE: multiply g by gamma[c] here (GroupNorm, whose statistic spans
// several channels); BatchNorm folds its channel's gamma into k1 and sets AFFINE false.
// Invocation p = n * C + c writes plane p; VEC4: H*W % 4 == 0, as vec4; PACKED: four planes per
// invocation (norm_push.glsl).
#include "base.glsl"
#include "norm_push.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"
#define NA_BINDING 5
#include "norm_apply.glsl"

layout(constant_id = 10) const bool VEC4 = false;
layout(constant_id = 11) const bool AFFINE = true;
layout(constant_id = 19) const bool PACKED = false;  // NC4HW4 x, dy and dx (norm_push.glsl)

READONLY_FLOATS4(0, x);   // [N, C, H, W]
READONLY_FLOATS4(1, dy);  // [N, C, H, W]
layout(set = 0, binding = 2) readonly buffer Gamma { float gamma[]; };  // [C] (AFFINE only)
layout(set = 0, binding = 3) readonly buffer Coef { vec4 coef[]; };  // [statistics]
layout(set = 0, binding = 4) writeonly buffer Dx { float dx[]; };  // [N, C, H, W]
layout(set = 0, binding = 4) writeonly buffer Dx4 { vec4 dx4[]; };

// The four planes of invocation q at once (PACKED).
void backward4(uint q) {
  vec4 mean4, k1, ka, kb, scale;
  vec3 k[4];
  const uint n_index = 4 * q / p.channels;
  [[unroll]] for (uint c = 0; c < 4; ++c) {
    const vec4 s = coef[statistic_of(4 * q + c)];
    mean4[c] = s.x;
    k1[c] = s.y;
    ka[c] = s.z;
    kb[c] = s.w;
    scale[c] = AFFINE ? gamma[(4 * q + c) % p.channels] : 1.0;
    if (NA_ON) k[c] = na_coefficients(n_index, (4 * q + c) % p.channels, p.channels);
  }
  const NaStream stream = na_stream(p.step);
  for (uint i = 0; i < p.plane; ++i) {
    const vec4 xv = LOAD4(x, q * p.plane + i);
    vec4 g = LOAD4(dy, q * p.plane + i);
    if (NA_ON) {
      [[unroll]] for (uint c = 0; c < 4; ++c) g[c] = na_backward(xv[c], k[c], stream, (4 * q + c) * p.plane + i, g[c]);
    }
    dx4[q * p.plane + i] = k1 * (scale * g + ka * (xv - mean4) + kb);
  }
}

void main() {
  if (PACKED) {
    if (gl_GlobalInvocationID.x < p.planes / 4) backward4(gl_GlobalInvocationID.x);
    return;
  }
  const uint plane = gl_GlobalInvocationID.x;
  if (plane >= p.planes) return;
  const vec4 s = coef[statistic_of(plane)];
  const float scale = AFFINE ? gamma[plane % p.channels] : 1.0;
  const vec3 k = NA_ON ? na_coefficients(plane / p.channels, plane % p.channels, p.channels) : vec3(0.0);
  const NaStream stream = na_stream(p.step);
  const uint base = plane * p.plane;
  if (VEC4) {
    for (uint i = base / 4; i < (base + p.plane) / 4; ++i) {
      const vec4 xv = LOAD4(x, i);
      vec4 g = LOAD4(dy, i);
      if (NA_ON) {
        [[unroll]] for (uint c = 0; c < 4; ++c) g[c] = na_backward(xv[c], k, stream, 4 * i + c, g[c]);
      }
      dx4[i] = s.y * (scale * g + s.z * (xv - s.x) + s.w);
    }
  } else {
    for (uint i = base; i < base + p.plane; ++i) {
      const float xv = LOAD(x, i);
      float g = LOAD(dy, i);
      if (NA_ON) g = na_backward(xv, k, stream, i, g);
      dx[i] = s.y * (scale * g + s.z * (xv - s.x) + s.w);
    }
  }
}
