#version 460
#extension GL_GOOGLE_include_directive : require
// GroupNorm backward, pass 2 of 3, from the plane sums (A, B) = (sum g, sum g * (x - mean)):
// - invocation s < n * groups, for group s: with dxhat = g * gamma[c] and means over the group's
//   M = C / groups * H * W values, dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat));
//   writes coef[s] = (mean, invstd, a, b) so that dx = invstd * (gamma[c] * g + a * (x - mean) + b),
//   a form in which a group of one value gets exactly dx = 0.
// - invocation n * groups + c, when AFFINE: dbeta[c] = sum over n of A, dgamma[c] = sum over n of
//   invstd * B (the planes of channel c, each with its own group's invstd).
#include "base.glsl"
#include "norm_push.glsl"

layout(constant_id = 11) const bool AFFINE = true;


layout(set = 0, binding = 0) readonly buffer Partials { vec2 partials[]; };  // [N, C]
layout(set = 0, binding = 1) readonly buffer Mean { float save_mean[]; };    // [N, groups]
layout(set = 0, binding = 2) readonly buffer Invstd { float save_invstd[]; };
layout(set = 0, binding = 3) readonly buffer Gamma { float gamma[]; };      // [C]
layout(set = 0, binding = 4) writeonly buffer Dgamma { float dgamma[]; };  // [C]
layout(set = 0, binding = 5) writeonly buffer Dbeta { float dbeta[]; };    // [C]
layout(set = 0, binding = 6) writeonly buffer Coef { vec4 coef[]; };       // [N, groups]

void main() {
  const uint i = gl_GlobalInvocationID.x;
  const uint segments = p.n * p.groups;
  if (i < segments) {
    const uint begin = i * p.group_channels;
    const uint c0 = (i % p.groups) * p.group_channels;
    vec2 sums = vec2(0.0);  // (sum dxhat, sum dxhat * (x - mean))
    for (uint j = 0; j < p.group_channels; ++j) {
      sums += (AFFINE ? gamma[c0 + j] : 1.0) * partials[begin + j];
    }
    const float invstd = save_invstd[i];
    const float mean_dxhat = sums.x * p.inv_count;
    const float mean_dxhat_xhat = sums.y * invstd * p.inv_count;
    coef[i] = vec4(save_mean[i], invstd, -invstd * mean_dxhat_xhat, -mean_dxhat);
  } else if (AFFINE && i < segments + p.channels) {
    const uint c = i - segments;
    float sum_g = 0.0;
    float sum_g_xhat = 0.0;
    for (uint n = 0; n < p.n; ++n) {
      const vec2 q = partials[n * p.channels + c];
      sum_g += q.x;
      sum_g_xhat += q.y * save_invstd[n * p.groups + c / p.group_channels];
    }
    dgamma[c] = sum_g_xhat;
    dbeta[c] = sum_g;
  }
}
