#version 460
#extension GL_GOOGLE_include_directive : require
// BatchNorm2d backward, pass 2 of 3: invocation c adds the n plane sums of channel c into
// dbeta = sum g and dgamma = invstd * sum g * (x - mean) (written when AFFINE), and the
// coefficients of dx = gamma * invstd * (g - dbeta / M - xhat * dgamma / M), M = n * H * W:
// coef[c] = (mean, gamma * invstd, a, b) with dx = gamma * invstd * (g + a * (x - mean) + b).
#include "base.glsl"
#include "norm_push.glsl"

layout(constant_id = 11) const bool AFFINE = true;


layout(set = 0, binding = 0) readonly buffer Partials { vec2 partials[]; };  // [N, C]
layout(set = 0, binding = 1) readonly buffer Mean { float save_mean[]; };    // [C]
layout(set = 0, binding = 2) readonly buffer Invstd { float save_invstd[]; };
layout(set = 0, binding = 3) readonly buffer Gamma { float gamma[]; };      // [C]
layout(set = 0, binding = 4) writeonly buffer Dgamma { float dgamma[]; };  // [C]
layout(set = 0, binding = 5) writeonly buffer Dbeta { float dbeta[]; };    // [C]
layout(set = 0, binding = 6) writeonly buffer Coef { vec4 coef[]; };       // [C]

void main() {
  const uint c = gl_GlobalInvocationID.x;
  if (c >= p.channels) return;
  vec2 sums = vec2(0.0);
  for (uint i = c; i < p.planes; i += p.channels) sums += partials[i];
  const float invstd = save_invstd[c];
  const float sum_g = sums.x;
  const float sum_g_xhat = sums.y * invstd;
  if (AFFINE) {
    dgamma[c] = sum_g_xhat;
    dbeta[c] = sum_g;
  }
  const float k1 = (AFFINE ? gamma[c] : 1.0) * invstd;
  coef[c] = vec4(save_mean[c], k1, -invstd * sum_g_xhat * p.inv_count, -sum_g * p.inv_count);
}
