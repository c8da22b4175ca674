// GroupNorm: its push constants, what it applies, and its passes (NormPasses).
#include "nn/layers/groupnorm.hpp"

#include <fmt/format.h>

#include <optional>

#include "engine/error.hpp"

namespace vkm::nn {
namespace {

// C / groups, after checking that groups divides C.
uint32_t group_channels(const std::string& name, Shape input, uint32_t groups) {
  if (groups == 0 || input.c % groups != 0) {
    throw Error(
        fmt::format("{}: {} groups do not divide {} channels (GroupNorm needs a group "
                    "count that divides the channel count)",
                    name, groups, input.c));
  }
  return input.c / groups;
}

}  // namespace

GroupNorm::GroupNorm(Device& device, KernelCache& kernels, std::string name, Shape input,
                     uint32_t groups, bool affine, bool relu, FusedDropout dropout, float eps)
    : groups_(groups),
      passes_(device, kernels, name, input,
              {.kind = "groupnorm",
               .group_channels = group_channels(name, input, groups),
               .affine = affine,
               .relu = relu,
               .dropout = dropout,
               .eps = eps},
              size_t{input.n} * groups) {
  passes_.upload_params(device, describe(true), describe(false));
}

NormPush GroupNorm::push(uint32_t n) const {
  const Shape& input = passes_.input();
  if (n == 0 || n > input.n) {
    throw Error(fmt::format("{}: batch of {} (built for 1..{})", passes_.name(), n, input.n));
  }
  const uint32_t plane = input.h * input.w;
  const uint32_t group_channels = passes_.config().group_channels;
  return {.n = n,
          .channels = input.c,
          .plane = plane,
          .planes = n * input.c,
          .groups = groups_,
          .group_channels = group_channels,
          .inv_count = static_cast<float>(1.0 / (static_cast<double>(group_channels) * plane)),
          .eps = passes_.config().eps};
}

NormApply GroupNorm::apply(bool train) const {
  if (!passes_.config().relu) {
    throw Error(fmt::format("{}: only a norm with its ReLU fused can be applied", passes_.name()));
  }
  return describe(train);
}

NormApply GroupNorm::describe(bool train) const {
  const NormConfig& c = passes_.config();
  return {.group_channels = c.group_channels,
          .affine = c.affine,
          .eval = false,  // a sample's own statistics, in eval too
          .eps = c.eps,
          .dropout = train ? c.dropout : FusedDropout{},
          .mean = &passes_.save_mean(),
          .spread = &passes_.save_invstd(),
          .gamma = &passes_.affine().gamma(),
          .beta = &passes_.affine().beta(),
          .unused = &passes_.affine().unused(),
          .params = &passes_.params(train),
          .stats = train ? stats() : NormStats{}};
}

NormStats GroupNorm::stats() const {
  const Buffer& none = passes_.affine().unused();  // no running statistics
  return passes_.stats(none, none);
}

void GroupNorm::record_statistics(Graph& graph, const Tensor& x, uint32_t n,
                                  Statistics stats) const {
  passes_.record_statistics(graph, x, push(n), stats, this->stats());
}

void GroupNorm::record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n,
                               const Buffer* clock, uint32_t step, Statistics stats) const {
  NormPush p = push(n);
  p.step = step;
  passes_.record_statistics(graph, x, p, stats, this->stats());
  // Without a clock (eval) nothing is dropped.
  passes_.record_forward(graph, x, y, p, describe(clock != nullptr), clock, "groupnorm_forward");
}

void GroupNorm::record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor& dx,
                                uint32_t n, const Buffer* clock, uint32_t step,
                                Statistics sums) const {
  NormPush p = push(n);
  p.step = step;
  // The mask is recomputed here unless the gradient came through it (kGiven).
  const std::optional<NormApply> mask = passes_.config().relu && sums == Statistics::kCompute
                                            ? std::optional(describe(true))
                                            : std::nullopt;
  passes_.record_backward(graph, x, dy, dx, p, clock, sums, mask ? &*mask : nullptr, stats());
}

}  // namespace vkm::nn
