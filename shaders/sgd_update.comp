#version 460
#extension GL_GOOGLE_include_directive : require
// SGD with momentum, L2 weight decay and L1 in one update, by PyTorch's rule
// (nn/reference/sgd.hpp):  g = grad + l2 * w + l1 * sign(w);  v = momentum * v + g;  w -= lr * v.
// The learning rate is read per step from the schedule: lr_schedule[global step], the index
// clamped to the schedule's end. Grid-stride loop over vec4s with a scalar tail. nn::Model runs it
// once per step over every parameter at once (they live in one buffer).
#include "base.glsl"
#include "clock.glsl"

layout(push_constant) uniform Push {
  uint count;
  uint step;             // within the epoch; the clock turns it into the global step
  uint schedule_length;  // entries in lr_schedule (>= 1)
  float momentum;
  float l2;
  float l1;
} p;

layout(set = 0, binding = 0) buffer W4 { vec4 w4[]; };
layout(set = 0, binding = 0) buffer W { float w[]; };
layout(set = 0, binding = 1) readonly buffer Grad4 { vec4 grad4[]; };
layout(set = 0, binding = 1) readonly buffer Grad { float grad[]; };
layout(set = 0, binding = 2) buffer Velocity4 { vec4 velocity4[]; };
layout(set = 0, binding = 2) buffer Velocity { float velocity[]; };
layout(set = 0, binding = 3) readonly buffer Schedule { float lr_schedule[]; };
layout(set = 0, binding = 4) readonly buffer ClockBuffer { Clock clock; };

void main() {
  const float lr = lr_schedule[min(global_step(clock, p.step), p.schedule_length - 1)];
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  const uint quads = p.count / 4;
  for (uint i = gl_GlobalInvocationID.x; i < quads; i += stride) {
    const vec4 wi = w4[i];
    const vec4 v = p.momentum * velocity4[i] + (grad4[i] + p.l2 * wi + p.l1 * sign(wi));
    velocity4[i] = v;
    w4[i] = wi - lr * v;
  }
  if (gl_GlobalInvocationID.x == 0) {
    for (uint i = quads * 4; i < p.count; ++i) {
      const float wi = w[i];
      const float v = p.momentum * velocity[i] + (grad[i] + p.l2 * wi + p.l1 * sign(wi));  // sign(0) = 0
      velocity[i] = v;
      w[i] = wi - lr * v;
    }
  }
}
