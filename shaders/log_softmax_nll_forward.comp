#version 460
#extension GL_GOOGLE_include_directive : require
// Log-softmax + NLL forward over a batch: logits [n, classes] -> log_probs [n, classes],
// predictions[offset + i] = argmax (first maximum wins), and stats[slot] = (sum over the batch of
// the per-sample NLL, number of correct predictions). One workgroup: each invocation handles
// samples i, i + size, ...; the two totals go through workgroup_sum (deterministic, no atomics).
// The row maximum is subtracted before exp, so logits of any magnitude stay finite. GRADIENT
// (training): also dlogits = (exp(log_probs) - target) / n, the gradient of the batch's mean
// cross-entropy against target = (1 - smoothing) * onehot(labels) + smoothing / classes (PyTorch's
// label_smoothing; 0: the NLL's gradient). The stats keep the plain NLL either way.
#include "base.glsl"
#include "reduce.glsl"

layout(push_constant) uniform Push {
  uint n;
  uint classes;
  uint slot;
  uint prediction_offset;
  float smoothing;  // GRADIENT only
} p;

layout(constant_id = 10) const bool GRADIENT = false;

layout(set = 0, binding = 0) readonly buffer Logits { float logits[]; };
layout(set = 0, binding = 1) readonly buffer Labels { uint labels[]; };
layout(set = 0, binding = 2) writeonly buffer LogProbs { float log_probs[]; };
layout(set = 0, binding = 3) writeonly buffer Stats { vec2 stats[]; };  // [slots] (nll sum, correct)
layout(set = 0, binding = 4) writeonly buffer Predictions { uint predictions[]; };
layout(set = 0, binding = 5) writeonly buffer DLogits { float dlogits[]; };  // GRADIENT

void main() {
  vec2 acc = vec2(0.0);
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += gl_WorkGroupSize.x) {
    const uint row = i * p.classes;
    float top = logits[row];
    uint arg = 0;
    for (uint k = 1; k < p.classes; ++k) {
      const float v = logits[row + k];
      if (v > top) {
        top = v;
        arg = k;
      }
    }
    float sum = 0.0;
    for (uint k = 0; k < p.classes; ++k) sum += exp(logits[row + k] - top);
    const float log_sum = log(sum);
    const uint label = labels[i];
    const float inv_n = 1.0 / float(p.n);
    const float off_target = p.smoothing / float(p.classes);
    const float on_target = 1.0 - p.smoothing + off_target;
    for (uint k = 0; k < p.classes; ++k) {
      const float log_prob = (logits[row + k] - top) - log_sum;
      log_probs[row + k] = log_prob;
      if (GRADIENT) dlogits[row + k] = (exp(log_prob) - (k == label ? on_target : off_target)) * inv_n;
    }
    // A label out of range contributes nothing rather than reading another row.
    const float nll = label < p.classes ? log_sum - (logits[row + label] - top) : 0.0;
    acc += vec2(nll, arg == label ? 1.0 : 0.0);
    predictions[p.prediction_offset + i] = arg;
  }
  const vec2 total = workgroup_sum(acc);
  if (gl_LocalInvocationID.x == 0) stats[p.slot] = total;
}
