// A norm's output, applied by the kernel that reads it: the net's norm -> ReLU (-> dropout) of
// each value as it is loaded, so the normalized activation is never stored. The consumers of a
// norm layer (the next conv's forward and backward, the global average pool) load the
// norm's input z and compute
//   a = dropout(max((z - mean) * scale + shift, 0)),  scale = invstd * gamma[c], shift = beta[c]
// exactly as norm_forward.comp does (the same expression, the same mask); the norm's own backward
// kernels recompute the ReLU and dropout mask from z the same way instead of reading a.
// nn::NormApply (nn/layers/norm_apply.hpp) sets the constants and binds the buffers.
//
// The includer defines NA_BINDING, the first of six bindings: the statistics' mean, their
// spread (invstd; the running variance in BatchNorm's eval), gamma, beta (placeholders without
// affine), the training clock (a placeholder without dropout) and the norm's parameters
// (NaParams, nn::NormApplyParams); and includes clock.glsl and rng.glsl first. Only whether a
// norm is applied and whether it drops are specialization constants: the rest is data, so the
// kernels of layers that differ in their norm's kind, groups or dropout salt are one pipeline.
#include "norm_params.glsl"

layout(constant_id = 30) const bool NA_ON = false;
layout(constant_id = 35) const bool NA_DROPOUT = false;

layout(set = 0, binding = NA_BINDING) readonly buffer NaMean { float na_mean[]; };
layout(set = 0, binding = NA_BINDING + 1) readonly buffer NaSpread { float na_spread[]; };
layout(set = 0, binding = NA_BINDING + 2) readonly buffer NaGamma { float na_gamma[]; };
layout(set = 0, binding = NA_BINDING + 3) readonly buffer NaBeta { float na_beta[]; };
layout(set = 0, binding = NA_BINDING + 4) readonly buffer NaClock { Clock na_clock; };
layout(set = 0, binding = NA_BINDING + 5) readonly buffer NaParams { NormParams na; };

// (mean, scale, shift) of channel c of sample `n_index` in a tensor of `channels` channels.
vec3 na_coefficients(uint n_index, uint c, uint channels) {
  const uint gc = na.group_channels;
  const uint stat = gc == 0 ? c : n_index * (channels / gc) + c / gc;
  const float invstd = na.eval != 0 ? 1.0 / sqrt(na_spread[stat] + na.eps) : na_spread[stat];
  const bool affine = na.affine != 0;
  return vec3(na_mean[stat], affine ? invstd * na_gamma[c] : invstd, affine ? na_beta[c] : 0.0);
}

// The dropout of this step: its stream's key (rng_key of seed ^ salt and the global step), the
// drop probability and the scale of what is kept, read once and passed to every na_* call.
struct NaStream {
  uint key;
  float p;
  float scale;
};

NaStream na_stream(uint step) {
  if (!NA_DROPOUT) return NaStream(0u, 0.0, 1.0);
  return NaStream(rng_key(na_clock.seed ^ na.drop_salt, global_step(na_clock, step)), na.drop_p,
                  na.drop_scale);
}

bool na_kept(NaStream stream, uint e) {
  return !NA_DROPOUT || rng_uniform_keyed(stream.key, e) >= stream.p;
}

// a of the value z at flat NCHW index e, with k = na_coefficients of its plane.
float na_apply(float z, vec3 k, NaStream stream, uint e) {
  const float r = max((z - k.x) * k.y + k.z, 0.0);
  if (!NA_DROPOUT) return r;
  return na_kept(stream, e) ? r * stream.scale : 0.0;
}

// The gradient reaching z's normalized value from da (the gradient of a): zero where the ReLU
// stopped it or the element was dropped, scaled by 1 / (1 - p) where it was kept.
float na_backward(float z, vec3 k, NaStream stream, uint e, float da) {
  const bool pass = (z - k.x) * k.y + k.z > 0.0 && na_kept(stream, e);
  return pass ? (NA_DROPOUT ? da * stream.scale : da) : 0.0;
}

// na_apply and the factor that na_backward applies to da (0 where the ReLU stopped it or the
// element was dropped, else 1 or 1 / (1 - p)) at once, for a kernel that needs both of the same
// element: the dropout mask is hashed once.
float na_apply_gate(float z, vec3 k, NaStream stream, uint e, out float gate) {
  const float pre = (z - k.x) * k.y + k.z;
  const bool pass = pre > 0.0 && na_kept(stream, e);
  const float scale = NA_DROPOUT ? stream.scale : 1.0;
  gate = pass ? scale : 0.0;
  return pass ? pre * scale : 0.0;
}
