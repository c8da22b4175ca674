#version 460
#extension GL_GOOGLE_include_directive : require
// SGD with momentum, L2 weight decay and L1 (common/sgd.glsl) for every parameter of the net in
// one dispatch (nn::Model), reducing the conv weights' gradients on the way: workgroup row y
// updates segments[y], one parameter, four values per invocation (a quarter of the workgroups:
// on lavapipe most of this kernel's time was starting workgroups that had nothing to do). Where
// the segment names partial sums (a conv weight, whose backward pass left one sum per lane:
// nn::WeightPartials, weight_partials.glsl), the gradient is their sum over the lanes in order, as
// conv2d_backward_weight_reduce.comp adds them (bitwise the same), and is written to grad too;
// elsewhere grad holds it already (the norms' backward wrote it).
#include "base.glsl"
#include "sgd.glsl"
#include "reads.glsl"
#include "weight_partials.glsl"

READONLY_FLOATS4(5, partials);  // every conv's weight partials, one buffer
struct Segment {
  uint offset;       // the parameter's first value in w, grad, velocity
  uint count;        // its values
  uint partials;     // its first partial sum, or 0xffffffff: grad holds the gradient
  uint lanes;        // partial sums per value
  uint row;          // values per output channel
  uint tile;         // values per output channel in an input-channel tile
  uint stride;       // a lane's set of sums in partials
  uint pad0;
};
layout(set = 0, binding = 6) readonly buffer Segments { Segment segments[]; };  // [p.count]

void main() {
  const Segment s = segments[gl_WorkGroupID.y];
  const uint first = 4 * gl_GlobalInvocationID.x;  // four consecutive values per invocation
  if (first >= s.count) return;
  const float lr = learning_rate();
  const bool partial = s.partials != 0xffffffffu;
  if ((s.offset | s.count | (partial ? s.partials | s.row | s.tile | s.stride : 0u)) % 4 == 0) {
    // Whole vec4s (nn::Model lays every parameter out so; four consecutive weights are then
    // consecutive partial sums): a fetch brings four.
    const uint q = (s.offset + first) / 4;
    vec4 g;
    if (partial) {
      const uint base = s.partials + weight_partial(first, s.row, s.tile, s.lanes, s.stride);
      g = vec4(0.0);
      for (uint l = 0; l < s.lanes; ++l) g += LOAD4(partials, (base + l * s.stride) / 4);
      grad4[q] = g;
    } else {
      g = grad4[q];
    }
    update4(q, g, lr);
    return;
  }
  for (uint i = first; i < min(first + 4, s.count); ++i) {
    float g;
    if (partial) {
      const uint base = s.partials + weight_partial(i, s.row, s.tile, s.lanes, s.stride);
      g = 0.0;
      for (uint l = 0; l < s.lanes; ++l) g += LOAD(partials, base + l * s.stride);
      grad[s.offset + i] = g;
    } else {
      g = grad[s.offset + i];
    }
    update(s.offset + i, g, lr);
  }
}
