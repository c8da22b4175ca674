// Learning-rate schedules with PyTorch's formulas.
#include "nn/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace vkm::nn {

ScheduleKind parse_schedule(std::string_view text) {
  if (text == "onecycle") return ScheduleKind::kOneCycle;
  if (text == "step") return ScheduleKind::kStep;
  if (text == "constant") return ScheduleKind::kConstant;
  throw std::invalid_argument("unknown schedule '" + std::string(text) +
                              "': choose onecycle, step or constant");
}

const char* schedule_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::kOneCycle:
      return "onecycle";
    case ScheduleKind::kStep:
      return "step";
    case ScheduleKind::kConstant:
      return "constant";
  }
  return "?";
}

namespace {

double cosine(double start, double end, double pct) {
  return end + (start - end) / 2.0 * (1.0 + std::cos(std::numbers::pi * pct));
}

}  // namespace

std::vector<float> learning_rates(ScheduleKind kind, float lr, uint32_t epochs,
                                  uint32_t steps_per_epoch, double warmup) {
  if (!(warmup > 0.0 && warmup < 1.0)) {
    throw std::invalid_argument("the one-cycle warm-up " + std::to_string(warmup) +
                                " is not a fraction of the run between 0 and 1");
  }
  const size_t total = size_t{epochs} * steps_per_epoch;
  std::vector<float> out(total);
  switch (kind) {
    case ScheduleKind::kConstant:
      std::fill(out.begin(), out.end(), lr);
      break;
    case ScheduleKind::kStep: {
      const uint32_t step_epochs = std::max(1u, epochs / 3);
      for (size_t i = 0; i < total; ++i) {
        const auto epoch = static_cast<uint32_t>(i / steps_per_epoch);
        out[i] = static_cast<float>(lr * std::pow(0.1, epoch / step_epochs));
      }
      break;
    }
    case ScheduleKind::kOneCycle: {
      // torch.optim.lr_scheduler.OneCycleLR, anneal_strategy='cos', three_phase=False.
      const double initial = lr / 25.0;
      const double minimum = initial / 1e4;
      const double warm_end = warmup * static_cast<double>(total) - 1.0;
      const double last = static_cast<double>(total) - 1.0;
      for (size_t i = 0; i < total; ++i) {
        const double s = static_cast<double>(i);
        double value;
        if (s <= warm_end) {
          value = cosine(initial, lr, warm_end > 0 ? s / warm_end : 1.0);
        } else {
          value = cosine(lr, minimum, last > warm_end ? (s - warm_end) / (last - warm_end) : 1.0);
        }
        out[i] = static_cast<float>(value);
      }
      break;
    }
  }
  return out;
}

}  // namespace vkm::nn
