// A norm's statistics finished by the kernel that produced their per-plane parts, with no
// dispatch of its own: every workgroup writes its planes' partials, then counts itself done on an
// atomic counter; the workgroup that arrives last (it sees every other's partials) merges them,
// in a fixed order, so reruns stay bitwise identical, and sets the counter back to zero for the
// next dispatch. The partials are `coherent`: written by one workgroup, read by another.
//
// Forward (the includer defines NF_BINDING): the plane statistics (mean, M2) of the norm's input
// become each statistic's mean and invstd (and, BatchNorm, the running estimates move). Seven
// bindings from NF_BINDING: the partials vec2 [N, C] (which the includer writes), the counter, the norm's parameters
// (nn::NormApplyParams, training), the saved mean and invstd [statistics], the running mean and
// variance [C] (BatchNorm; placeholders otherwise). Producers: conv2d_forward.comp (STATS) and
// norm_forward_stats.comp.
//
// Backward (NB_BINDING): the plane sums (sum g, sum g * (x - mean)) become dgamma, dbeta and the
// dx coefficients that norm_backward.comp applies. Nine bindings from NB_BINDING: the partials
// (which the includer writes),
// the counter, the parameters, the saved mean and invstd, gamma, dgamma, dbeta (placeholders
// without affine) and coef [statistics] vec4. Producers: conv2d_backward.comp (NA_ON) and
// norm_backward_sums.comp.
//
// A statistic spans one channel over the batch (BatchNorm: group_channels 0) or one sample's
// group of group_channels consecutive channels (GroupNorm, LayerNorm, InstanceNorm); nn::NormStats
// (nn/layers/norm_stats.hpp) binds the buffers.

#include "norm_params.glsl"

shared bool nf_is_last;

// Run by every invocation of the workgroup, in uniform control flow, once its partials are
// written: declares `last_`, true in the last workgroup to arrive (counted on the uint counter_),
// whose reads of the partials then see every other workgroup's writes.
#define NF_ARRIVE(counter_, last_)                                                       \
  memoryBarrierBuffer();                                                                 \
  barrier();                                                                             \
  if (gl_LocalInvocationIndex == 0) {                                                    \
    nf_is_last = atomicAdd(counter_, 1u) ==                                              \
                 gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_NumWorkGroups.z - 1u;      \
  }                                                                                      \
  barrier();                                                                             \
  const bool last_ = nf_is_last;                                                         \
  if (last_) memoryBarrierBuffer()

const uint NF_WORKGROUP = gl_WorkGroupSize.x * gl_WorkGroupSize.y * gl_WorkGroupSize.z;

#ifdef NF_BINDING
layout(set = 0, binding = NF_BINDING) coherent buffer NfPartials { vec2 nf_partials[]; };
layout(set = 0, binding = NF_BINDING + 1) coherent buffer NfCounter { uint nf_counter; };
layout(set = 0, binding = NF_BINDING + 2) readonly buffer NfParams { NormParams nf; };
layout(set = 0, binding = NF_BINDING + 3) writeonly buffer NfMean { float nf_mean[]; };
layout(set = 0, binding = NF_BINDING + 4) writeonly buffer NfInvstd { float nf_invstd[]; };
layout(set = 0, binding = NF_BINDING + 5) buffer NfRunningMean { float nf_running_mean[]; };
layout(set = 0, binding = NF_BINDING + 6) buffer NfRunningVar { float nf_running_var[]; };

// Statistic s from its planes' (mean, M2) (Chan et al.: the mean of the plane means, then the
// planes' M2 plus H*W times each plane mean's squared deviation, all non-negative terms).
// BatchNorm also moves the running estimates towards the batch's mean and unbiased variance
// (PyTorch: running = (1 - momentum) * running + momentum * batch).
void nf_statistic(uint s, uint n, uint channels, uint plane) {
  const bool per_channel = nf.group_channels == 0;
  const uint first = per_channel ? s : s * nf.group_channels;
  const uint stride = per_channel ? channels : 1;
  const uint count = per_channel ? n : nf.group_channels;
  float sum = 0.0;
  for (uint k = 0; k < count; ++k) sum += nf_partials[first + k * stride].x;
  const float mean = sum / float(count);
  float m2 = 0.0;
  for (uint k = 0; k < count; ++k) {
    const vec2 q = nf_partials[first + k * stride];
    const float d = q.x - mean;
    m2 += q.y + float(plane) * d * d;
  }
  const float values = float(count) * float(plane);
  const float var = m2 / values;
  nf_mean[s] = mean;
  nf_invstd[s] = 1.0 / sqrt(var + nf.eps);
  if (per_channel) {
    const float unbiased = values > 1.0 ? var * (values / (values - 1.0)) : var;
    nf_running_mean[s] = (1.0 - nf.momentum) * nf_running_mean[s] + nf.momentum * mean;
    nf_running_var[s] = (1.0 - nf.momentum) * nf_running_var[s] + nf.momentum * unbiased;
  }
}

// The forward finish: every invocation calls it at the end of its kernel (uniform control flow).
void nf_finish(uint n, uint channels, uint plane) {
  NF_ARRIVE(nf_counter, last);
  if (!last) return;
  const uint statistics = nf.group_channels == 0 ? channels : n * (channels / nf.group_channels);
  for (uint s = gl_LocalInvocationIndex; s < statistics; s += NF_WORKGROUP) {
    nf_statistic(s, n, channels, plane);
  }
  if (gl_LocalInvocationIndex == 0) nf_counter = 0u;
}
#endif

#ifdef NB_BINDING
layout(set = 0, binding = NB_BINDING) coherent buffer NbPartials { vec2 nb_partials[]; };
layout(set = 0, binding = NB_BINDING + 1) coherent buffer NbCounter { uint nb_counter; };
layout(set = 0, binding = NB_BINDING + 2) readonly buffer NbParams { NormParams nb; };
layout(set = 0, binding = NB_BINDING + 3) readonly buffer NbMean { float nb_mean[]; };
layout(set = 0, binding = NB_BINDING + 4) readonly buffer NbInvstd { float nb_invstd[]; };
layout(set = 0, binding = NB_BINDING + 5) readonly buffer NbGamma { float nb_gamma[]; };
layout(set = 0, binding = NB_BINDING + 6) writeonly buffer NbDgamma { float nb_dgamma[]; };
layout(set = 0, binding = NB_BINDING + 7) writeonly buffer NbDbeta { float nb_dbeta[]; };
layout(set = 0, binding = NB_BINDING + 8) writeonly buffer NbCoef { vec4 nb_coef[]; };

// The statistic of plane n * C + c: its channel's (BatchNorm) or its sample's group's.
uint nb_statistic_of(uint plane, uint channels) {
  return nb.group_channels == 0 ? plane % channels : plane / nb.group_channels;
}

// Item i of the backward finish, with M the values one statistic spans:
// - BatchNorm, i = channel c < C: dbeta = sum g, dgamma = invstd * sum g * (x - mean) over its
//   n planes, and coef[c] = (mean, gamma * invstd, a, b) for
//   dx = gamma * invstd * (g - dbeta / M - xhat * dgamma / M) = coef.y * (g + a * (x - mean) + b).
// - GroupNorm, i = statistic s < n * groups: with dxhat = g * gamma[c] and means over its group,
//   dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)); coef[s] = (mean, invstd, a, b)
//   so that dx = invstd * (gamma[c] * g + a * (x - mean) + b), a form in which a group of one
//   value gets exactly dx = 0. Items n * groups + c: dbeta[c] and dgamma[c] over the n samples
//   (each plane with its own group's invstd).
void nb_item(uint i, uint n, uint channels, uint plane) {
  const bool affine = nb.affine != 0;
  if (nb.group_channels == 0) {
    vec2 sums = vec2(0.0);
    for (uint q = i; q < n * channels; q += channels) sums += nb_partials[q];
    const float invstd = nb_invstd[i];
    const float sum_g = sums.x;
    const float sum_g_xhat = sums.y * invstd;
    if (affine) {
      nb_dgamma[i] = sum_g_xhat;
      nb_dbeta[i] = sum_g;
    }
    const float inv_count = 1.0 / (float(n) * float(plane));
    const float k1 = (affine ? nb_gamma[i] : 1.0) * invstd;
    nb_coef[i] = vec4(nb_mean[i], k1, -invstd * sum_g_xhat * inv_count, -sum_g * inv_count);
    return;
  }
  const uint groups = channels / nb.group_channels;
  const uint segments = n * groups;
  if (i < segments) {
    const uint begin = i * nb.group_channels;
    const uint c0 = (i % groups) * nb.group_channels;
    vec2 sums = vec2(0.0);  // (sum dxhat, sum dxhat * (x - mean))
    for (uint j = 0; j < nb.group_channels; ++j) {
      sums += (affine ? nb_gamma[c0 + j] : 1.0) * nb_partials[begin + j];
    }
    const float invstd = nb_invstd[i];
    const float inv_count = 1.0 / (float(nb.group_channels) * float(plane));
    const float mean_dxhat = sums.x * inv_count;
    const float mean_dxhat_xhat = sums.y * invstd * inv_count;
    nb_coef[i] = vec4(nb_mean[i], invstd, -invstd * mean_dxhat_xhat, -mean_dxhat);
  } else if (affine) {
    const uint c = i - segments;
    float sum_g = 0.0;
    float sum_g_xhat = 0.0;
    for (uint s = 0; s < n; ++s) {
      const vec2 q = nb_partials[s * channels + c];
      sum_g += q.x;
      sum_g_xhat += q.y * nb_invstd[s * groups + c / nb.group_channels];
    }
    nb_dgamma[c] = sum_g_xhat;
    nb_dbeta[c] = sum_g;
  }
}

// The backward finish: every invocation calls it at the end of its kernel (uniform control flow).
void nb_finish(uint n, uint channels, uint plane) {
  NF_ARRIVE(nb_counter, last);
  if (!last) return;
  const uint items = nb.group_channels == 0 ? channels : n * (channels / nb.group_channels) + channels;
  for (uint i = gl_LocalInvocationIndex; i < items; i += NF_WORKGROUP) nb_item(i, n, channels, plane);
  if (gl_LocalInvocationIndex == 0) nb_counter = 0u;
}
#endif
