// Recording of log-softmax + NLL: size checks, push constants, grids.
#include "nn/layers/loss.hpp"

#include <fmt/format.h>

#include "engine/error.hpp"

namespace vkm::nn {
namespace {

// Forward: one workgroup sums the batch (a power of two, for workgroup_sum).
constexpr uint32_t kForwardWorkgroup = 128;
constexpr uint32_t kBackwardWorkgroup = 64;

}  // namespace

LogSoftmaxNll::LogSoftmaxNll(KernelCache& kernels, uint32_t max_batch, uint32_t classes)
    : max_batch_(max_batch),
      classes_(classes),
      forward_(&kernels.get({.shader = "log_softmax_nll_forward",
                             .local_size = {kForwardWorkgroup, 1, 1},
                             .push_constant_bytes = sizeof(LogSoftmaxNllForwardPush),
                             .bindings = 5})),
      backward_(&kernels.get({.shader = "log_softmax_nll_backward",
                              .local_size = {kBackwardWorkgroup, 1, 1},
                              .push_constant_bytes = sizeof(LogSoftmaxNllBackwardPush),
                              .bindings = 3})) {
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
                                   uint32_t n) const {
  check("log_softmax_nll_forward", n, labels, {&logits, &log_probs});
  if (stats.size() < (size_t{slot} + 1) * 2 * sizeof(float)) {
    throw Error(fmt::format("log_softmax_nll_forward: stats buffer '{}' ({} bytes) has no slot {}",
                            stats.name(), stats.size(), slot));
  }
  if (predictions.size() < (size_t{prediction_offset} + n) * sizeof(uint32_t)) {
    throw Error(fmt::format(
        "log_softmax_nll_forward: predictions buffer '{}' ({} bytes) cannot hold {} at offset {}",
        predictions.name(), predictions.size(), n, prediction_offset));
  }
  const LogSoftmaxNllForwardPush p{n, classes_, slot, prediction_offset};
  graph.dispatch(*forward_,
                 {reads(logits.buffer()), reads(labels), writes(log_probs.buffer()), writes(stats),
                  writes(predictions)},
                 p, {kForwardWorkgroup, 1, 1}, "log_softmax_nll_forward");
}

void LogSoftmaxNll::record_backward(Graph& graph, const Tensor& log_probs, const Buffer& labels,
                                    const Tensor& dlogits, uint32_t n) const {
  check("log_softmax_nll_backward", n, labels, {&log_probs, &dlogits});
  const LogSoftmaxNllBackwardPush p{n, classes_, 1.0f / static_cast<float>(n), 0};
  graph.dispatch(*backward_, {reads(log_probs.buffer()), reads(labels), writes(dlogits.buffer())},
                 p, {n, 1, 1}, "log_softmax_nll_backward");
}

}  // namespace vkm::nn
