// A norm's output, applied by the kernel that reads it: the net's norm -> ReLU (-> dropout) of
// each value as it is loaded, so the normalized activation is never stored. The consumers of a
// norm layer (the next conv's forward and backward weight, the global average pool) load the
// norm's input z and compute
//   a = dropout(max((z - mean) * scale + shift, 0)),  scale = invstd * gamma[c], shift = beta[c]
// exactly as norm_forward.comp does (the same expression, the same mask); the norm's own backward
// kernels recompute the ReLU and dropout mask from z the same way instead of reading a.
// nn::NormApply (nn/layers/norm_apply.hpp) sets the constants and binds the buffers.
//
// The includer defines NA_BINDING, the first of five bindings: the statistics' mean, their
// spread (invstd; the running variance with NA_EVAL), gamma, beta (placeholders without
// NA_AFFINE) and the training clock (a placeholder without NA_DROPOUT); and includes clock.glsl
// and rng.glsl first.
layout(constant_id = 30) const bool NA_ON = false;
// 0: a statistic per channel over the batch (BatchNorm); else per sample and group of this many
// consecutive channels (GroupNorm, LayerNorm, InstanceNorm).
layout(constant_id = 31) const uint NA_GROUP_CHANNELS = 0;
layout(constant_id = 32) const bool NA_AFFINE = false;
layout(constant_id = 33) const bool NA_EVAL = false;  // BatchNorm in eval: running statistics
layout(constant_id = 34) const float NA_EPS = 1e-5;
// The dropout after the ReLU (training only), as nn/reference's: element e (its flat NCHW index)
// is kept where rng_uniform(seed ^ salt, global step, e) >= p, and scaled by 1 / (1 - p).
layout(constant_id = 35) const bool NA_DROPOUT = false;
layout(constant_id = 36) const float NA_DROP_P = 0.0;
layout(constant_id = 37) const uint NA_DROP_SALT = 0;
layout(constant_id = 38) const float NA_DROP_SCALE = 1.0;

layout(set = 0, binding = NA_BINDING) readonly buffer NaMean { float na_mean[]; };
layout(set = 0, binding = NA_BINDING + 1) readonly buffer NaSpread { float na_spread[]; };
layout(set = 0, binding = NA_BINDING + 2) readonly buffer NaGamma { float na_gamma[]; };
layout(set = 0, binding = NA_BINDING + 3) readonly buffer NaBeta { float na_beta[]; };
layout(set = 0, binding = NA_BINDING + 4) readonly buffer NaClock { Clock na_clock; };

// (mean, scale, shift) of channel c of sample `n_index` in a tensor of `channels` channels.
vec3 na_coefficients(uint n_index, uint c, uint channels) {
  const uint stat =
      NA_GROUP_CHANNELS == 0 ? c : n_index * (channels / NA_GROUP_CHANNELS) + c / NA_GROUP_CHANNELS;
  const float invstd = NA_EVAL ? 1.0 / sqrt(na_spread[stat] + NA_EPS) : na_spread[stat];
  return vec3(na_mean[stat], NA_AFFINE ? invstd * na_gamma[c] : invstd,
              NA_AFFINE ? na_beta[c] : 0.0);
}

// The dropout stream of this step, keyed by (seed ^ salt, global step) (rng_key); 0 without
// dropout.
uint na_stream(uint step) {
  return NA_DROPOUT ? rng_key(na_clock.seed ^ NA_DROP_SALT, global_step(na_clock, step)) : 0u;
}

bool na_kept(uint stream, uint e) {
  return !NA_DROPOUT || rng_uniform_keyed(stream, e) >= NA_DROP_P;
}

// a of the value z at flat NCHW index e, with k = na_coefficients of its plane.
float na_apply(float z, vec3 k, uint stream, uint e) {
  const float r = max((z - k.x) * k.y + k.z, 0.0);
  if (!NA_DROPOUT) return r;
  return na_kept(stream, e) ? r * NA_DROP_SCALE : 0.0;
}

// The gradient reaching z's normalized value from da (the gradient of a): zero where the ReLU
// stopped it or the element was dropped, scaled by 1 / (1 - p) where it was kept.
float na_backward(float z, vec3 k, uint stream, uint e, float da) {
  const bool pass = (z - k.x) * k.y + k.z > 0.0 && na_kept(stream, e);
  return pass ? (NA_DROPOUT ? da * NA_DROP_SCALE : da) : 0.0;
}
