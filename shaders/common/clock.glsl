// The training clock (nn/clock.hpp): epoch, steps per epoch and the run's seed, written by the
// host between epochs. A shader that includes this declares its buffer itself, e.g.
//   layout(set = 0, binding = 4) readonly buffer ClockBuffer { Clock clock; };
struct Clock {
  uint epoch;
  uint steps_per_epoch;
  uint seed;
  uint pad;
};

uint global_step(Clock c, uint step) { return c.epoch * c.steps_per_epoch + step; }
