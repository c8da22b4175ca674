#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// 2x2 max pooling, stride 2, forward: x [N, C, H, W] -> y [N, C, H/2, W/2] (floor: an odd last
// row/column is dropped, as PyTorch). Each invocation computes one output row (out_w outputs),
// grid-stride over the n * C * out_h rows; ELEMENTS (the GPU shape, nn::MaxPool2d): one output
// each, out_w times as many invocations. PACKED (NC4HW4 tensors, nn::Layout): an element is a
// vec4 of four channels and the rows are n * C/4 * out_h. NA_ON: x is a norm's input z, and each
// value is pooled after that norm, its ReLU and dropout (norm_apply.glsl): the activation is
// never stored.
#include "base.glsl"
#include "reads.glsl"
#include "clock.glsl"
#include "rng.glsl"
#define NA_BINDING 2
#include "norm_apply.glsl"

layout(push_constant) uniform Push {
  uint rows;  // n * C * out_h (n * C/4 * out_h packed)
  uint in_h;
  uint in_w;
  uint out_h;
  uint out_w;
  uint step;      // NA_ON: the step within the epoch (dropout)
  uint channels;  // C
  uint pad;
} p;

layout(constant_id = 10) const bool PACKED = false;
layout(constant_id = 11) const bool ELEMENTS = false;  // an invocation per output, not per row

READONLY_FLOATS4(0, x);
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 1) writeonly buffer Y4 { vec4 y4[]; };

// The activation at element i of plane `plane` (NCHW index i; k: the plane's norm coefficients).
float value(uint i, vec3 k, NaStream stream) {
  const float v = LOAD(x, i);
  return NA_ON ? na_apply(v, k, stream, i) : v;
}

// The four channels' activations at vec4 element i of packed plane q (pixel i - q * H*W).
vec4 value4(uint q, uint i, vec3 k[4], NaStream stream) {
  vec4 v = LOAD4(x, i);
  if (NA_ON) {
    const uint pixel = i - q * p.in_h * p.in_w;
    [[unroll]] for (uint c = 0; c < 4; ++c) v[c] = na_apply(v[c], k[c], stream, (4 * q + c) * p.in_h * p.in_w + pixel);
  }
  return v;
}

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const NaStream stream = na_stream(p.step);
  const uint items = ELEMENTS ? p.rows * p.out_w : p.rows;
  for (uint item = gl_GlobalInvocationID.x; item < items; item += stride) {
    const uint row = ELEMENTS ? item / p.out_w : item;
    const uint first = ELEMENTS ? item - row * p.out_w : 0;  // the row's first output here
    const uint end = ELEMENTS ? first + 1 : p.out_w;
    const uint plane = row / p.out_h;
    const uint oy = row - plane * p.out_h;
    uint top = plane * p.in_h * p.in_w + 2 * oy * p.in_w + 2 * first;
    uint out_at = row * p.out_w + first;
    if (PACKED) {
      vec3 k[4];
      if (NA_ON) {
        [[unroll]] for (uint c = 0; c < 4; ++c) k[c] = na_coefficients(4 * plane / p.channels, (4 * plane + c) % p.channels, p.channels);
      }
      for (uint ox = first; ox < end; ++ox, top += 2, ++out_at) {
        y4[out_at] = max(max(value4(plane, top, k, stream), value4(plane, top + 1, k, stream)),
                         max(value4(plane, top + p.in_w, k, stream), value4(plane, top + p.in_w + 1, k, stream)));
      }
      continue;
    }
    const vec3 k = NA_ON ? na_coefficients(plane / p.channels, plane % p.channels, p.channels) : vec3(0.0);
    for (uint ox = first; ox < end; ++ox, top += 2, ++out_at) {
      y[out_at] = max(max(value(top, k, stream), value(top + 1, k, stream)),
                      max(value(top + p.in_w, k, stream), value(top + p.in_w + 1, k, stream)));
    }
  }
}
