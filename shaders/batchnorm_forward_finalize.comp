#version 460
#extension GL_GOOGLE_include_directive : require
// BatchNorm2d training forward, pass 2 of 3: invocation c merges the n plane statistics of
// channel c (Chan et al.: mean of the plane means, then the planes' squared deviations plus H*W
// times each plane mean's squared deviation, all non-negative terms) into the batch mean and
// 1 / sqrt(biased var + eps), and moves the running estimates towards the batch's mean and
// unbiased variance (PyTorch: running = (1 - momentum) * running + momentum * batch).
#include "base.glsl"

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

layout(set = 0, binding = 0) readonly buffer Partials { vec2 partials[]; };  // [N, C]
layout(set = 0, binding = 1) writeonly buffer Mean { float save_mean[]; };   // [C]
layout(set = 0, binding = 2) writeonly buffer Invstd { float save_invstd[]; };
layout(set = 0, binding = 3) buffer RunningMean { float running_mean[]; };
layout(set = 0, binding = 4) buffer RunningVar { float running_var[]; };

void main() {
  const uint c = gl_GlobalInvocationID.x;
  if (c >= p.channels) return;
  float sum = 0.0;
  for (uint i = c; i < p.planes; i += p.channels) sum += partials[i].x;
  const float mean = sum / float(p.n);
  float m2 = 0.0;
  for (uint i = c; i < p.planes; i += p.channels) {
    const vec2 q = partials[i];
    const float d = q.x - mean;
    m2 += q.y + float(p.plane) * d * d;
  }
  const float var = m2 * p.inv_count;
  save_mean[c] = mean;
  save_invstd[c] = 1.0 / sqrt(var + p.eps);
  running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * mean;
  running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * (var * p.unbias);
}
