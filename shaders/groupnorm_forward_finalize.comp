#version 460
#extension GL_GOOGLE_include_directive : require
// GroupNorm forward, pass 2 of 3: invocation s = n * groups + g merges the C / groups plane
// statistics of its group (Chan et al.: mean of the plane means, then the planes' squared
// deviations plus H*W times each plane mean's squared deviation, all non-negative terms) into the
// group mean and 1 / sqrt(biased var + eps). The group's planes are p = s * C/groups + j.
#include "base.glsl"

layout(push_constant) uniform Push {
  uint n;
  uint channels;
  uint plane;
  uint planes;
  uint groups;
  uint group_channels;
  float inv_count;
  float eps;
} p;

layout(set = 0, binding = 0) readonly buffer Partials { vec2 partials[]; };  // [N, C]
layout(set = 0, binding = 1) writeonly buffer Mean { float save_mean[]; };   // [N, groups]
layout(set = 0, binding = 2) writeonly buffer Invstd { float save_invstd[]; };

void main() {
  const uint s = gl_GlobalInvocationID.x;
  if (s >= p.n * p.groups) return;
  const uint begin = s * p.group_channels;
  const uint end = begin + p.group_channels;
  float sum = 0.0;
  for (uint i = begin; i < end; ++i) sum += partials[i].x;
  const float mean = sum / float(p.group_channels);
  float m2 = 0.0;
  for (uint i = begin; i < end; ++i) {
    const vec2 q = partials[i];
    const float d = q.x - mean;
    m2 += q.y + float(p.plane) * d * d;
  }
  save_mean[s] = mean;
  save_invstd[s] = 1.0 / sqrt(m2 * p.inv_count + p.eps);
}
