#version 460
#extension GL_GOOGLE_include_directive : require
// Norm forward (BatchNorm2d training, GroupNorm), pass 2 of 3: invocation s merges the plane
// statistics of statistic s — a channel's n planes (BatchNorm: planes s, s + C, ...) or a
// sample's group of group_channels consecutive planes (GroupNorm) — into its mean and
// 1 / sqrt(biased var + eps) (Chan et al.: the mean of the plane means, then the planes' squared
// deviations plus H*W times each plane mean's squared deviation, all non-negative terms). RUNNING
// (BatchNorm): also moves the running estimates towards the batch's mean and unbiased variance
// (PyTorch: running = (1 - momentum) * running + momentum * batch).
#include "base.glsl"
#include "norm_push.glsl"

layout(constant_id = 10) const bool RUNNING = false;

layout(set = 0, binding = 0) readonly buffer Partials { vec2 partials[]; };  // [N, C]
layout(set = 0, binding = 1) writeonly buffer Mean { float save_mean[]; };   // [statistics]
layout(set = 0, binding = 2) writeonly buffer Invstd { float save_invstd[]; };
layout(set = 0, binding = 3) buffer RunningMean { float running_mean[]; };  // [C] (RUNNING only)
layout(set = 0, binding = 4) buffer RunningVar { float running_var[]; };    // [C] (RUNNING only)

void main() {
  const uint s = gl_GlobalInvocationID.x;
  const bool per_channel = p.group_channels == 0;
  if (s >= (per_channel ? p.channels : p.n * p.groups)) return;
  const uint first = per_channel ? s : s * p.group_channels;
  const uint stride = per_channel ? p.channels : 1;
  const uint count = per_channel ? p.n : p.group_channels;
  float sum = 0.0;
  for (uint k = 0; k < count; ++k) sum += partials[first + k * stride].x;
  const float mean = sum / float(count);
  float m2 = 0.0;
  for (uint k = 0; k < count; ++k) {
    const vec2 q = partials[first + k * stride];
    const float d = q.x - mean;
    m2 += q.y + float(p.plane) * d * d;
  }
  const float var = m2 * p.inv_count;
  save_mean[s] = mean;
  save_invstd[s] = 1.0 / sqrt(var + p.eps);
  if (RUNNING) {
    running_mean[s] = (1.0 - p.momentum) * running_mean[s] + p.momentum * mean;
    running_var[s] = (1.0 - p.momentum) * running_var[s] + p.momentum * (var * p.unbias);
  }
}
