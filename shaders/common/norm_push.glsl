// The push constants of every norm kernel, BatchNorm2d's and GroupNorm's (nn::NormPush in
// nn/layers/norm_affine.hpp mirrors it). A statistic spans `group_channels` consecutive channels
// of one sample (GroupNorm; LayerNorm is one group) or, where group_channels is 0, one channel
// over the whole batch (BatchNorm).
layout(push_constant) uniform Push {
  uint n;               // samples in this batch
  uint channels;        // C
  uint plane;           // H * W
  uint planes;          // n * C
  uint groups;          // GroupNorm: groups per sample; BatchNorm: 0
  uint group_channels;  // GroupNorm: C / groups; BatchNorm: 0
  float inv_count;      // 1 / the number of values one statistic spans
  float eps;
  float momentum;       // BatchNorm's running statistics
  float unbias;         // BatchNorm: count / (count - 1), 1 for a single value
  uint step;            // fused dropout: the step within the epoch (the clock makes it global)
} p;

// The statistic (mean, invstd, coefficients) of plane p = n * C + c: its channel's (BatchNorm)
// or its sample's group's (GroupNorm).
uint statistic_of(uint plane) {
  return p.group_channels == 0 ? plane % p.channels : plane / p.group_channels;
}

// NC4HW4 tensors (nn::Layout; PACKED, specialization constant 19 of the norm kernels): invocation
// q takes the four planes 4q .. 4q + 3 (channels 4(q mod C/4) .. + 3 of one sample), whose values
// at pixel i are the vec4 at q * H*W + i.
