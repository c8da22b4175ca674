// The gradient of a norm's input, computed by the kernel that reads it: the conv before a norm
// (its backward, both gradients) reads dy as the gradient g reaching the norm's
// normalized value (its reader's backward went on through the ReLU and dropout) together with
// the norm's input z (the conv's own output), and turns each value into the gradient of z as it
// loads it:
//   dz = k1 * (gamma[c] * g + a * (z - mean) + b)
// with the statistic's coefficients (mean, k1, a, b) that the reader's last workgroup finished
// (norm_finalize.glsl: BatchNorm folds gamma into k1, GroupNorm scales g by gamma[c]), exactly
// what norm_backward.comp computes, so dz is never stored.
//
// The includer defines NG_BINDING, the first of four bindings: z [N, C, H, W] (READONLY_FLOATS4,
// the layout of dy), the coefficients vec4 [statistics], gamma [C] (a placeholder without
// affine) and the norm's parameters (nn::NormApplyParams); and includes reads.glsl first.
// nn::Conv2d::apply_output_norm binds them.
#include "norm_params.glsl"

layout(constant_id = 36) const bool NG_ON = false;

READONLY_FLOATS4(NG_BINDING, ng_z);
layout(set = 0, binding = NG_BINDING + 1) readonly buffer NgCoef { vec4 ng_coef[]; };
layout(set = 0, binding = NG_BINDING + 2) readonly buffer NgGamma { float ng_gamma[]; };
layout(set = 0, binding = NG_BINDING + 3) readonly buffer NgParams { NormParams ng; };

// (mean, k1 * gamma[c] (or k1), k1 * a, k1 * b) for plane (n_index, c) of a tensor of `channels`
// channels: dz = k.y * g + k.z * (z - k.x) + k.w.
vec4 ng_coefficients(uint n_index, uint c, uint channels) {
  const uint gc = ng.group_channels;
  const uint stat = gc == 0 ? c : n_index * (channels / gc) + c / gc;
  const vec4 s = ng_coef[stat];
  const float scale = gc != 0 && ng.affine != 0 ? ng_gamma[c] : 1.0;
  return vec4(s.x, s.y * scale, s.y * s.z, s.y * s.w);
}

float ng_gradient(float g, float z, vec4 k) {
  return fma(k.y, g, fma(k.z, z - k.x, k.w));
}
