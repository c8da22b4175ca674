// Workgroup-wide sums for 1-D workgroups of a power-of-two size, deterministic (fixed order, no
// atomics) and correct for any subgroup size: subgroupAdd within each subgroup, the subgroups'
// partials through shared memory, then the first subgroup adds those. With USE_SUBGROUP_OPS
// false, a shared-memory tree instead. Every invocation of the workgroup must call it (uniform
// control flow: it contains barriers); every invocation receives the total.
//
// Lanes per subgroup are derived from gl_NumSubgroups, not read from gl_SubgroupSize: lavapipe
// (Mesa 22.3) at LP_NATIVE_VECTOR_WIDTH=1024 reports gl_SubgroupSize 32 but runs 16-lane
// subgroups, with gl_NumSubgroups and gl_SubgroupID consistent with 16. The engine tests probe
// this (subgroup_size_probe.comp).

shared vec2 reduce_scratch[gl_WorkGroupSize.x];
shared vec2 reduce_total;

vec2 workgroup_sum(vec2 value) {
  const uint lane = gl_LocalInvocationIndex;
  if (USE_SUBGROUP_OPS) {
    const vec2 partial = subgroupAdd(value);
    if (subgroupElect()) reduce_scratch[gl_SubgroupID] = partial;
    barrier();
    if (gl_SubgroupID == 0) {
      const uint lanes = (gl_WorkGroupSize.x + gl_NumSubgroups - 1) / gl_NumSubgroups;
      vec2 t = vec2(0.0);
      for (uint i = gl_SubgroupInvocationID; i < gl_NumSubgroups; i += lanes) {
        t += reduce_scratch[i];
      }
      t = subgroupAdd(t);
      if (subgroupElect()) reduce_total = t;
    }
    barrier();
    return reduce_total;
  } else {
    reduce_scratch[lane] = value;
    barrier();
    for (uint stride = gl_WorkGroupSize.x / 2; stride > 0; stride >>= 1) {
      if (lane < stride) reduce_scratch[lane] += reduce_scratch[lane + stride];
      barrier();
    }
    const vec2 total = reduce_scratch[0];
    barrier();  // the scratch may be reused right after
    return total;
  }
}

float workgroup_sum(float value) { return workgroup_sum(vec2(value, 0.0)).x; }
