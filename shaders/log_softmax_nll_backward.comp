#version 460
#extension GL_GOOGLE_include_directive : require
// Log-softmax + NLL backward, the gradient of the batch's mean NLL:
// dlogits [n, classes] = (exp(log_probs) - onehot(labels)) / n. Each invocation handles one
// sample's row; grid-stride over samples.
#include "base.glsl"

layout(push_constant) uniform Push {
  uint n;
  uint classes;
  float inv_n;
  uint pad;
} p;

layout(set = 0, binding = 0) readonly buffer LogProbs { float log_probs[]; };
layout(set = 0, binding = 1) readonly buffer Labels { uint labels[]; };
layout(set = 0, binding = 2) writeonly buffer DLogits { float dlogits[]; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
    const uint row = i * p.classes;
    const uint label = labels[i];
    for (uint k = 0; k < p.classes; ++k) {
      const float onehot = k == label ? 1.0 : 0.0;
      dlogits[row + k] = (exp(log_probs[row + k]) - onehot) * p.inv_n;
    }
  }
}
