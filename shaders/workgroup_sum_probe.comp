#version 460
#extension GL_GOOGLE_include_directive : require
// A test of shaders/common/reduce.glsl alone: each workgroup adds its invocations' values
// through workgroup_sum and writes the total, and how many invocations received a total that
// differs from invocation 0's (which must be none). Run at workgroup sizes from 1 to 1024 against
// subgroups of 4 to 32 lanes, it covers every ratio of workgroup to subgroup that subgroups of 64
// or 128 lanes (AMD wave64, some mobile GPUs) give the kernels' workgroups of 64 to 1024,
// including subgroups wider than the workgroup.
#include "base.glsl"
#include "reduce.glsl"

layout(set = 0, binding = 0) readonly buffer In { vec2 values[]; };
layout(set = 0, binding = 1) writeonly buffer Out { vec4 totals[]; };  // [groups]: total, spread

shared vec2 first_total;
shared uint differing;

void main() {
  const uint i = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationIndex;
  const vec2 total = workgroup_sum(values[i]);
  if (gl_LocalInvocationIndex == 0) {
    first_total = total;
    differing = 0u;
  }
  barrier();
  // Every invocation's total against invocation 0's: the same bits, or counted.
  if (floatBitsToUint(total) != floatBitsToUint(first_total)) atomicAdd(differing, 1u);
  barrier();
  if (gl_LocalInvocationIndex == 0) totals[gl_WorkGroupID.x] = vec4(total, float(differing), 0.0);
}
