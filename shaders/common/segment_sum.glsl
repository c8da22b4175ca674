// Sums over each sample's invocations, for the GPU-shaped kernels (conv2d_*_gpu.comp), whose
// 1-D workgroups hold gl_WorkGroupSize.x / SLOTS samples side by side, SLOTS consecutive
// invocations each (SLOTS a power of two). A tree in shared memory: the same order whatever the
// device or subgroup size, so results are bitwise reproducible; log2(SLOTS) barriers. The
// includer declares the specialization constant SLOTS. Every invocation of the workgroup must call
// it (uniform control flow); each receives its sample's total.
shared vec4 segment_scratch[gl_WorkGroupSize.x];

vec4 segment_sum(vec4 value, uint slot) {
  const uint lane = gl_LocalInvocationIndex;
  segment_scratch[lane] = value;
  barrier();
  [[dont_unroll]] for (uint stride = SLOTS / 2; stride > 0; stride >>= 1) {
    if (slot < stride) segment_scratch[lane] += segment_scratch[lane + stride];
    barrier();
  }
  const vec4 total = segment_scratch[lane - slot];
  barrier();  // the scratch may be reused right after
  return total;
}
