// A norm's parameters as data (nn::NormApplyParams mirrors it, std430): one struct for every
// kernel that applies, finishes or differentiates a norm (norm_apply.glsl, norm_finalize.glsl,
// norm_gradient.glsl), each binding it in a buffer of its own.
#ifndef NORM_PARAMS_GLSL
#define NORM_PARAMS_GLSL
struct NormParams {
  // 0: a statistic per channel over the batch (BatchNorm); else per sample and group of this
  // many consecutive channels (GroupNorm, LayerNorm, InstanceNorm).
  uint group_channels;
  uint affine;  // 1: scale by gamma[c], shift by beta[c]
  uint eval;    // 1: BatchNorm in eval, spread is the running variance
  float eps;
  // The dropout after the ReLU (training only), as nn/reference's: element e (its flat NCHW
  // index) is kept where rng_uniform(seed ^ salt, global step, e) >= p, and scaled by 1 / (1 - p).
  float drop_p;
  float drop_scale;
  uint drop_salt;
  float momentum;  // BatchNorm's running statistics
};
#endif
