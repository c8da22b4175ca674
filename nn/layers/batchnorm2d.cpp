// BatchNorm2d: its push constants, what it applies in each mode, and its passes (NormPasses).
#include "nn/layers/batchnorm2d.hpp"

#include <fmt/format.h>

#include <optional>

#include "engine/error.hpp"

namespace vkm::nn {

BatchNorm2d::BatchNorm2d(Device& device, KernelCache& kernels, std::string name, Shape input,
                         bool affine, bool relu, FusedDropout dropout, float eps, float momentum)
    : passes_(device, kernels, std::move(name), input,
              {.kind = "batchnorm",
               .group_channels = 0,  // a statistic spans one channel over the batch
               .affine = affine,
               .relu = relu,
               .dropout = dropout,
               .eps = eps,
               .momentum = momentum},
              input.c),
      running_mean_(device, {input.c, 1, 1, 1}, passes_.name() + ".running_mean"),
      running_var_(device, {input.c, 1, 1, 1}, passes_.name() + ".running_var") {
  running_mean_.fill(0.0f);
  running_var_.fill(1.0f);
  passes_.upload_params(device, describe(true), describe(false));
}

NormPush BatchNorm2d::push(uint32_t n) const {
  const Shape& input = passes_.input();
  if (n == 0 || n > input.n) {
    throw Error(fmt::format("{}: batch of {} (built for 1..{})", passes_.name(), n, input.n));
  }
  const uint32_t plane = input.h * input.w;
  const double count = static_cast<double>(n) * plane;
  return {.n = n,
          .channels = input.c,
          .plane = plane,
          .planes = n * input.c,
          .groups = 0,  // a statistic spans one channel over the batch
          .group_channels = 0,
          .inv_count = static_cast<float>(1.0 / count),
          .eps = passes_.config().eps,
          .momentum = passes_.config().momentum,
          .unbias = static_cast<float>(count > 1.0 ? count / (count - 1.0) : 1.0)};
}

NormApply BatchNorm2d::apply(bool train) const {
  if (!passes_.config().relu) {
    throw Error(fmt::format("{}: only a norm with its ReLU fused can be applied", passes_.name()));
  }
  return describe(train);
}

NormApply BatchNorm2d::describe(bool train) const {
  const NormConfig& c = passes_.config();
  return {.group_channels = 0,
          .affine = c.affine,
          .eval = !train,
          .eps = c.eps,
          .momentum = c.momentum,
          .dropout = train ? c.dropout : FusedDropout{},
          .mean = train ? &passes_.save_mean() : &running_mean_.buffer(),
          .spread = train ? &passes_.save_invstd() : &running_var_.buffer(),
          .gamma = &passes_.affine().gamma(),
          .beta = &passes_.affine().beta(),
          .unused = &passes_.affine().unused(),
          .params = &passes_.params(train),
          .stats = train ? stats() : NormStats{}};
}

NormStats BatchNorm2d::stats() const {
  return passes_.stats(running_mean_.buffer(), running_var_.buffer());
}

void BatchNorm2d::record_statistics(Graph& graph, const Tensor& x, uint32_t n,
                                    Statistics stats) const {
  passes_.record_statistics(graph, x, push(n), stats, this->stats());
}

void BatchNorm2d::record_forward_train(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n,
                                       const Buffer* clock, uint32_t step, Statistics stats) const {
  NormPush p = push(n);
  p.step = step;
  passes_.record_statistics(graph, x, p, stats, this->stats());
  passes_.record_forward(graph, x, y, p, describe(true), clock, "batchnorm_forward");
}

void BatchNorm2d::record_forward_eval(Graph& graph, const Tensor& x, const Tensor& y,
                                      uint32_t n) const {
  passes_.record_forward(graph, x, y, push(n), describe(false), nullptr, "batchnorm_forward_eval");
}

void BatchNorm2d::record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor& dx,
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
