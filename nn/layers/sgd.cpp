// Recording of the SGD update: size checks, push constants, grid.
#include "nn/layers/sgd.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/error.hpp"
#include "nn/clock.hpp"

namespace vkm::nn {
namespace {

constexpr uint32_t kWorkgroup = 128;
constexpr uint32_t kPerInvocation = 16;  // values each invocation loops over
constexpr uint32_t kMaxGroups = 65535;   // the smallest maxComputeWorkGroupCount Vulkan allows

}  // namespace

Sgd::Sgd(KernelCache& kernels, float momentum, float l2, float l1)
    : momentum_(momentum),
      l2_(l2),
      l1_(l1),
      kernel_(&kernels.get({.shader = "sgd_update",
                            .local_size = {kWorkgroup, 1, 1},
                            .push_constant_bytes = sizeof(SgdUpdatePush),
                            .bindings = 5})),
      segments_kernel_(&kernels.get({.shader = "sgd_update_segments",
                                     .local_size = {kWorkgroup, 1, 1},
                                     .push_constant_bytes = sizeof(SgdUpdatePush),
                                     .bindings = 7,
                                     .texel_reads = kernels.device().texel_reads() ? 1u << 5 : 0u,
                                     .texel_vec4 = kernels.device().texel_vec4_reads()})) {
  if (!(momentum >= 0.0f && momentum < 1.0f) || !(l2 >= 0.0f) || !(l1 >= 0.0f)) {
    throw Error(fmt::format(
        "SGD needs momentum in [0, 1) and non-negative L2 and L1, got momentum {}, L2 {}, L1 {}",
        momentum, l2, l1));
  }
}

void Sgd::record_update(Graph& graph, const Parameter& parameter, const Tensor& velocity,
                        const Buffer& lr_schedule, const Buffer& clock, uint32_t step) const {
  const size_t count = parameter.value.numel();
  if (velocity.layout() != parameter.value.layout()) {
    throw Error(fmt::format("sgd_update of '{}': velocity '{}' is laid out unlike the parameter",
                            parameter.name, velocity.name()));
  }
  if (parameter.grad.numel() != count || velocity.numel() != count) {
    throw Error(fmt::format("sgd_update of '{}' ({} values): gradient has {}, velocity '{}' {}",
                            parameter.name, count, parameter.grad.numel(), velocity.name(),
                            velocity.numel()));
  }
  record_update(graph, parameter.value.buffer(), parameter.grad.buffer(), velocity.buffer(), count,
                lr_schedule, clock, step, "sgd_update " + parameter.name);
}

namespace {

void check_schedule(const Buffer& lr_schedule, const Buffer& clock) {
  if (lr_schedule.size() < sizeof(float)) {
    throw Error(
        fmt::format("sgd_update: learning-rate schedule '{}' is empty", lr_schedule.name()));
  }
  if (clock.size() < sizeof(ClockState)) {
    throw Error(fmt::format("sgd_update: clock buffer '{}' holds {} bytes, a ClockState needs {}",
                            clock.name(), clock.size(), sizeof(ClockState)));
  }
}

}  // namespace

void Sgd::record_update(Graph& graph, const Buffer& values, const Buffer& grads,
                        const Buffer& velocities, const Buffer& partials, const Buffer& segments,
                        uint32_t count, uint32_t max_values, const Buffer& lr_schedule,
                        const Buffer& clock, uint32_t step, const std::string& label) const {
  if (count == 0 || max_values == 0 || segments.size() < size_t{count} * sizeof(SgdSegment)) {
    throw Error(fmt::format("sgd_update of {} segments (up to {} values each): '{}' holds {} bytes",
                            count, max_values, segments.name(), segments.size()));
  }
  check_schedule(lr_schedule, clock);
  const SgdUpdatePush p{count,     step, static_cast<uint32_t>(lr_schedule.size() / sizeof(float)),
                        momentum_, l2_,  l1_};
  graph.dispatch(*segments_kernel_,
                 {reads_writes(values), reads_writes(grads), reads_writes(velocities),
                  reads(lr_schedule), reads(clock), reads(partials), reads(segments)},
                 p, {(max_values + 3) / 4, count, 1}, label);
}

void Sgd::record_update(Graph& graph, const Buffer& values, const Buffer& grads,
                        const Buffer& velocities, size_t count, const Buffer& lr_schedule,
                        const Buffer& clock, uint32_t step, const std::string& label) const {
  for (const Buffer* b : {&values, &grads, &velocities}) {
    if (count == 0 || b->size() < count * sizeof(float)) {
      throw Error(
          fmt::format("sgd_update of {} values: '{}' holds {} bytes", count, b->name(), b->size()));
    }
  }
  check_schedule(lr_schedule, clock);
  const SgdUpdatePush p{static_cast<uint32_t>(count),
                        step,
                        static_cast<uint32_t>(lr_schedule.size() / sizeof(float)),
                        momentum_,
                        l2_,
                        l1_};
  const size_t invocations = std::min<size_t>((count + kPerInvocation - 1) / kPerInvocation,
                                              size_t{kMaxGroups} * kWorkgroup);
  graph.dispatch(*kernel_,
                 {reads_writes(values), reads(grads), reads_writes(velocities), reads(lr_schedule),
                  reads(clock)},
                 p, {static_cast<uint32_t>(invocations), 1, 1}, label);
}

}  // namespace vkm::nn
