#version 460
#extension GL_GOOGLE_include_directive : require
// What kernels really get, per workgroup: gl_SubgroupSize, gl_NumSubgroups, the number of
// distinct gl_SubgroupID values seen, and the largest number of invocations counted by
// subgroupAdd(1). Engine tests check these agree, so a driver that misreports its subgroups
// is caught before any reduction trusts them.
#include "base.glsl"

layout(set = 0, binding = 0) writeonly buffer Out { uint facts[]; };  // [groups, 4]

shared uint max_subgroup_id;
shared uint max_lanes;

void main() {
  if (gl_LocalInvocationIndex == 0) {
    max_subgroup_id = 0;
    max_lanes = 0;
  }
  barrier();
  atomicMax(max_subgroup_id, gl_SubgroupID);
  atomicMax(max_lanes, subgroupAdd(1u));
  barrier();
  if (gl_LocalInvocationIndex == 0) {
    const uint base = gl_WorkGroupID.x * 4;
    facts[base + 0] = gl_SubgroupSize;
    facts[base + 1] = gl_NumSubgroups;
    facts[base + 2] = max_subgroup_id + 1;
    facts[base + 3] = max_lanes;
  }
}
