// Recording of log-softmax + NLL: size checks, push constants, grids.
#include "nn/layers/loss.hpp"

#include <fmt/format.h>

#include "engine/error.hpp"

namespace vkm::nn {
namespace {

// Forward: one workgroup sums the batch (a power of two, for workgroup_sum).
constexpr uint32_t kForwardWorkgroup = 128;

KernelDesc forward_desc(bool gradient) {
  KernelDesc d{.shader = "log_softmax_nll_forward",
               .local_size = {kForwardWorkgroup, 1, 1},
               .push_constant_bytes = sizeof(LogSoftmaxNllForwardPush),
               .bindings = 6};
  d.constant("GRADIENT", gradient);
  return d;
}

}  // namespace

LogSoftmaxNll::LogSoftmaxNll(KernelCache& kernels, uint32_t max_batch, uint32_t classes)
    : max_batch_(max_batch),
      classes_(classes),
      forward_(&kernels.get(forward_desc(false))),
      forward_gradient_(&kernels.get(forward_desc(true))) {
  if (max_batch == 0 || classes == 0) {
    throw Error(
        fmt::format("log-softmax NLL needs a batch and classes, got {} x {}", max_batch, classes));
  }
}

void LogSoftmaxNll::check(const char* op, uint32_t n, const Buffer& labels,
                          std::initializer_list<const Tensor*> tensors) const {
  if (n == 0 || n > max_batch_) {
    throw Error(fmt::format("{}: batch of {} (built for 1..{})", op, n, max_batch_));
  }
  for (const Tensor* t : tensors) {
    if (t->shape().sample() != classes_ || t->shape().n < n) {
      throw Error(fmt::format("{}: tensor '{}' is {}, expected {} samples of {} classes", op,
                              t->name(), t->shape().str(), n, classes_));
    }
  }
  if (labels.size() < size_t{n} * sizeof(uint32_t)) {
    throw Error(fmt::format("{}: labels buffer '{}' holds {} bytes, {} labels need {}", op,
                            labels.name(), labels.size(), n, n * sizeof(uint32_t)));
  }
}

void LogSoftmaxNll::record_forward(Graph& graph, const Tensor& logits, const Buffer& labels,
                                   const Tensor& log_probs, const Buffer& stats, uint32_t slot,
                                   const Buffer& predictions, uint32_t prediction_offset,
                                   uint32_t n, const Tensor* dlogits, float smoothing) const {
  check("log_softmax_nll_forward", n, labels, {&logits, &log_probs});
  if (dlogits != nullptr) check("log_softmax_nll_forward", n, labels, {dlogits});
  if (stats.size() < (size_t{slot} + 1) * 2 * sizeof(float)) {
    throw Error(fmt::format("log_softmax_nll_forward: stats buffer '{}' ({} bytes) has no slot {}",
                            stats.name(), stats.size(), slot));
  }
  if (predictions.size() < (size_t{prediction_offset} + n) * sizeof(uint32_t)) {
    throw Error(fmt::format(
        "log_softmax_nll_forward: predictions buffer '{}' ({} bytes) cannot hold {} at offset {}",
        predictions.name(), predictions.size(), n, prediction_offset));
  }
  if (!(smoothing >= 0.0f && smoothing <= 1.0f) || (smoothing != 0.0f && dlogits == nullptr)) {
    throw Error(fmt::format(
        "log_softmax_nll_forward: label smoothing {} (it must lie in [0, 1] and needs dlogits)",
        smoothing));
  }
  const LogSoftmaxNllForwardPush p{n, classes_, slot, prediction_offset, smoothing};
  graph.dispatch(dlogits != nullptr ? *forward_gradient_ : *forward_,
                 {reads(logits.buffer()), reads(labels), writes(log_probs.buffer()), writes(stats),
                  writes(predictions),
                  dlogits != nullptr ? writes(dlogits->buffer()) : reads(log_probs.buffer())},
                 p, {kForwardWorkgroup, 1, 1}, "log_softmax_nll_forward");
}

}  // namespace vkm::nn
