// What sgd_update.comp and sgd_update_segments.comp share: the push constants, the parameter
// bindings 0..4 and the update rule, PyTorch's (nn/reference/sgd.hpp):
//   g = grad + l2 * w + l1 * sign(w);  v = momentum * v + g;  w -= lr * v,
// the learning rate read per step from the schedule: lr_schedule[global step], the index clamped
// to the schedule's end.
#include "clock.glsl"

layout(push_constant) uniform Push {
  uint count;            // sgd_update: values; sgd_update_segments: segments
  uint step;             // within the epoch; the clock turns it into the global step
  uint schedule_length;  // entries in lr_schedule (>= 1)
  float momentum;
  float l2;
  float l1;
} p;

layout(set = 0, binding = 0) buffer W4 { vec4 w4[]; };
layout(set = 0, binding = 0) buffer W { float w[]; };
layout(set = 0, binding = 1) buffer Grad4 { vec4 grad4[]; };
layout(set = 0, binding = 1) buffer Grad { float grad[]; };
layout(set = 0, binding = 2) buffer Velocity4 { vec4 velocity4[]; };
layout(set = 0, binding = 2) buffer Velocity { float velocity[]; };
layout(set = 0, binding = 3) readonly buffer Schedule { float lr_schedule[]; };
layout(set = 0, binding = 4) readonly buffer ClockBuffer { Clock clock; };

float learning_rate() {
  return lr_schedule[min(global_step(clock, p.step), p.schedule_length - 1)];
}

void update(uint i, float g, float lr) {
  const float wi = w[i];
  const float v = p.momentum * velocity[i] + (g + p.l2 * wi + p.l1 * sign(wi));  // sign(0) = 0
  velocity[i] = v;
  w[i] = wi - lr * v;
}

void update4(uint i, vec4 g, float lr) {
  const vec4 wi = w4[i];
  const vec4 v = p.momentum * velocity4[i] + (g + p.l2 * wi + p.l1 * sign(wi));
  velocity4[i] = v;
  w4[i] = wi - lr * v;
}
