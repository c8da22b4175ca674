#version 460
#extension GL_GOOGLE_include_directive : require
// vkbench's bandwidth ceiling: dst = src over `count` vec4s. Workgroup w copies the block
// [w * per_group, (w + 1) * per_group), its invocations striding by the workgroup size:
// neighbouring invocations touch neighbouring vec4s (coalesced on a GPU), and a CPU driver, which
// runs a workgroup's subgroups one after another on one thread, sweeps one cache-sized block
// instead of striding across the whole buffer. Each byte is read once and written once. Its texel
// variant reads src through an r32f storage texel buffer, as the net's kernels read activations.
#include "base.glsl"
#include "reads.glsl"

layout(push_constant) uniform Push {
  uint count;      // vec4s
  uint per_group;  // vec4s per workgroup
} p;

READONLY_FLOATS4(0, src);
layout(set = 0, binding = 1) writeonly buffer Dst { vec4 dst[]; };

void main() {
  const uint begin = gl_WorkGroupID.x * p.per_group;
  const uint end = min(begin + p.per_group, p.count);
  for (uint i = begin + gl_LocalInvocationID.x; i < end; i += gl_WorkGroupSize.x) dst[i] = LOAD4(src, i);
}
