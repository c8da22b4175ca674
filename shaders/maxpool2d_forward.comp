#version 460
#extension GL_GOOGLE_include_directive : require
// 2x2 max pooling, stride 2, forward: x [N, C, H, W] -> y [N, C, H/2, W/2] (floor: an odd last
// row/column is dropped, as PyTorch). Each invocation computes one output row (out_w outputs),
// grid-stride over the n * C * out_h rows. PACKED (NC4HW4 tensors, nn::Layout): an element is a
// vec4 of four channels and the rows are n * C/4 * out_h.
#include "base.glsl"
#include "reads.glsl"

layout(push_constant) uniform Push {
  uint rows;  // n * C * out_h
  uint in_h;
  uint in_w;
  uint out_h;
  uint out_w;
} p;

layout(constant_id = 10) const bool PACKED = false;

READONLY_FLOATS4(0, x);
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 1) writeonly buffer Y4 { vec4 y4[]; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint row = gl_GlobalInvocationID.x; row < p.rows; row += stride) {
    const uint plane = row / p.out_h;
    const uint oy = row - plane * p.out_h;
    uint top = plane * p.in_h * p.in_w + 2 * oy * p.in_w;
    uint out_at = row * p.out_w;
    for (uint ox = 0; ox < p.out_w; ++ox, top += 2, ++out_at) {
      if (PACKED) {
        y4[out_at] = max(max(LOAD4(x, top), LOAD4(x, top + 1)), max(LOAD4(x, top + p.in_w), LOAD4(x, top + p.in_w + 1)));
      } else {
        y[out_at] = max(max(LOAD(x, top), LOAD(x, top + 1)), max(LOAD(x, top + p.in_w), LOAD(x, top + p.in_w + 1)));
      }
    }
  }
}
