#version 460
#extension GL_GOOGLE_include_directive : require
// 2x2 max pooling, stride 2, backward: dy [N, C, H/2, W/2] -> dx [N, C, H, W]. Each window's
// gradient goes to its first maximum in row-major order (the reference's rule; ties are common
// after a ReLU), every other element gets zero, including a dropped odd last row/column. Each
// invocation owns one output row: the two input rows under it, plus the odd last input row when
// it owns the last output row, so every dx element is written exactly once. PACKED (NC4HW4
// tensors): an element is a vec4 of four channels, each routed on its own; the rows are
// n * C/4 * out_h.
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
READONLY_FLOATS4(1, dy);
layout(set = 0, binding = 2) writeonly buffer DX { float dx[]; };
layout(set = 0, binding = 2) writeonly buffer DX4 { vec4 dx4[]; };

// The window's gradient to its first maximum, channel by channel (PACKED).
void route4(uint i, uint j, uint k, uint l, vec4 g) {
  const vec4 a = LOAD4(x, i), b = LOAD4(x, j), c = LOAD4(x, k), d = LOAD4(x, l);
  const vec4 m = max(max(a, b), max(c, d));
  const bvec4 at_a = equal(a, m);
  const bvec4 at_b = bvec4(uvec4(not(at_a)) & uvec4(equal(b, m)));
  const bvec4 at_c = bvec4(uvec4(not(at_a)) & uvec4(not(at_b)) & uvec4(equal(c, m)));
  const bvec4 at_d = bvec4(uvec4(not(at_a)) & uvec4(not(at_b)) & uvec4(not(at_c)));
  dx4[i] = mix(vec4(0.0), g, at_a);
  dx4[j] = mix(vec4(0.0), g, at_b);
  dx4[k] = mix(vec4(0.0), g, at_c);
  dx4[l] = mix(vec4(0.0), g, at_d);
}

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint row = gl_GlobalInvocationID.x; row < p.rows; row += stride) {
    const uint plane = row / p.out_h;
    const uint oy = row - plane * p.out_h;
    const uint top = plane * p.in_h * p.in_w + 2 * oy * p.in_w;
    const uint bottom = top + p.in_w;
    if (PACKED) {
      for (uint ox = 0; ox < p.out_w; ++ox) {
        const uint i = top + 2 * ox;
        route4(i, i + 1, bottom + 2 * ox, bottom + 2 * ox + 1, LOAD4(dy, row * p.out_w + ox));
      }
      if ((p.in_w & 1u) != 0) {
        dx4[top + p.in_w - 1] = vec4(0.0);
        dx4[bottom + p.in_w - 1] = vec4(0.0);
      }
      if ((p.in_h & 1u) != 0 && oy == p.out_h - 1) {
        for (uint i = 0; i < p.in_w; ++i) dx4[bottom + p.in_w + i] = vec4(0.0);
      }
      continue;
    }
    for (uint ox = 0; ox < p.out_w; ++ox) {
      const uint i = top + 2 * ox;
      const float a = LOAD(x, i), b = LOAD(x, i + 1), c = LOAD(x, bottom + 2 * ox), d = LOAD(x, bottom + 2 * ox + 1);
      const float g = LOAD(dy, row * p.out_w + ox);
      // The first maximum: a unless something later is strictly larger, and so on.
      const float m = max(max(a, b), max(c, d));
      const bool at_a = a == m;
      const bool at_b = !at_a && b == m;
      const bool at_c = !at_a && !at_b && c == m;
      const bool at_d = !at_a && !at_b && !at_c;
      dx[i] = at_a ? g : 0.0;
      dx[i + 1] = at_b ? g : 0.0;
      dx[bottom + 2 * ox] = at_c ? g : 0.0;
      dx[bottom + 2 * ox + 1] = at_d ? g : 0.0;
    }
    if ((p.in_w & 1u) != 0) {  // the dropped last column
      dx[top + p.in_w - 1] = 0.0;
      dx[bottom + p.in_w - 1] = 0.0;
    }
    if ((p.in_h & 1u) != 0 && oy == p.out_h - 1) {  // the dropped last row
      const uint last = bottom + p.in_w;
      for (uint i = 0; i < p.in_w; ++i) dx[last + i] = 0.0;
    }
  }
}
