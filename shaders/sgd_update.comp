#version 460
#extension GL_GOOGLE_include_directive : require
// SGD with momentum, L2 weight decay and L1 (common/sgd.glsl) over `count` values of flat
// buffers: a grid-stride loop over vec4s with a scalar tail. nn::Sgd records it for one parameter,
// or for every parameter at once where values, gradients and velocities each live in one buffer.
#include "base.glsl"
#include "sgd.glsl"

void main() {
  const float lr = learning_rate();
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const uint quads = p.count / 4;
  for (uint i = gl_GlobalInvocationID.x; i < quads; i += stride) update4(i, grad4[i], lr);
  if (gl_GlobalInvocationID.x == 0) {
    for (uint i = quads * 4; i < p.count; ++i) update(i, grad[i], lr);
  }
}
