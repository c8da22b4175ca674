// Learning-rate schedules, evaluated on the host for every global step and uploaded once as
// one float per step (the SGD kernel reads its step's rate from that buffer).
//   onecycle: PyTorch's OneCycleLR (cosine, pct_start = warmup, 0.3 by default, div_factor 25,
//             final_div_factor 1e4), peaking at `lr`; momentum is not cycled.
//   step:     PyTorch's StepLR: lr * 0.1^(epoch / step_epochs), step_epochs = max(1, epochs / 3).
//   constant: lr.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace vkm::nn {

enum class ScheduleKind { kOneCycle, kStep, kConstant };

ScheduleKind parse_schedule(std::string_view text);  // throws std::invalid_argument
const char* schedule_name(ScheduleKind kind);

// The one-cycle schedule's default warm-up: the fraction of the run spent rising to the peak.
inline constexpr double kDefaultWarmup = 0.3;

// One learning rate per global step: epochs * steps_per_epoch values. warmup (onecycle only, in
// (0, 1)): PyTorch's pct_start; throws std::invalid_argument outside that range.
std::vector<float> learning_rates(ScheduleKind kind, float lr, uint32_t epochs,
                                  uint32_t steps_per_epoch, double warmup = kDefaultWarmup);

}  // namespace vkm::nn
