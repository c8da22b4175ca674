// The classifier's loss on the device: log-softmax + NLL (PyTorch's log_softmax + nll_loss).
// One dispatch writes the log-probabilities, the argmax predictions, one (NLL sum, correct count)
// pair per step for the reports and, in training, the gradient of the batch's mean NLL.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "engine/memory.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

struct LogSoftmaxNllForwardPush {
  uint32_t n;
  uint32_t classes;
  uint32_t slot;
  uint32_t prediction_offset;
  float smoothing;
};
static_assert(sizeof(LogSoftmaxNllForwardPush) == 20,
              "mirrors Push in log_softmax_nll_forward.comp");

class LogSoftmaxNll {
 public:
  LogSoftmaxNll(KernelCache& kernels, uint32_t max_batch, uint32_t classes);

  uint32_t classes() const { return classes_; }

  // logits, log_probs: [N, classes, 1, 1]; labels: Buffer of uint32 [N].
  // stats: Buffer of float pairs [slots][2]; writes slot `slot` = (sum over the n samples of the
  // per-sample NLL, correct count as float). No atomics: one slot per step, the host sums them.
  // predictions: Buffer of uint32; writes predictions[prediction_offset + i] = argmax for i < n.
  // dlogits (training): [N, classes, 1, 1] = (exp(log_probs) - target) / n, the gradient of the
  // batch's mean cross-entropy against target = (1 - smoothing) * onehot(labels) + smoothing /
  // classes (PyTorch's label_smoothing; 0: the NLL), in the same dispatch. smoothing in [0, 1].
  void record_forward(Graph& graph, const Tensor& logits, const Buffer& labels,
                      const Tensor& log_probs, const Buffer& stats, uint32_t slot,
                      const Buffer& predictions, uint32_t prediction_offset, uint32_t n,
                      const Tensor* dlogits = nullptr, float smoothing = 0.0f) const;

 private:
  void check(const char* op, uint32_t n, const Buffer& labels,
             std::initializer_list<const Tensor*> tensors) const;

  uint32_t max_batch_;
  uint32_t classes_;
  const Kernel* forward_;
  const Kernel* forward_gradient_;  // with dlogits
};

}  // namespace vkm::nn
