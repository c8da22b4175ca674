// CPU reference of the classifier's loss: log-softmax followed by the negative log-likelihood
// of the labels (PyTorch's log_softmax + nll_loss), forward and backward, plus the argmax
// predictions and the count of correct ones the reports need.
#pragma once

#include <cstdint>
#include <span>

namespace vkm::nn::reference {

// logits, log_probs: [n, classes]; labels: [n], each < classes.
// Writes log_probs = logits - logsumexp(logits) per row (the max is subtracted first, so large
// logits do not overflow) and returns the SUM over the batch of the per-sample NLL
// -log_probs[i, labels[i]]. If given: *correct = #(argmax == label) and predictions[i] = argmax
// (predictions: [n], or empty to skip), the first maximum winning ties.
template <typename T>
T log_softmax_nll_forward(uint32_t n, uint32_t classes, std::span<const T> logits,
                          std::span<const uint32_t> labels, std::span<T> log_probs,
                          uint32_t* correct, std::span<uint32_t> predictions);

// The SUM over the batch of the per-sample cross-entropy against the smoothed target
// (1 - smoothing) * onehot(labels) + smoothing / classes, from log_probs (PyTorch's
// cross_entropy(label_smoothing=smoothing) times n; smoothing 0: the NLL sum).
template <typename T>
T smoothed_cross_entropy(uint32_t n, uint32_t classes, std::span<const T> log_probs,
                         std::span<const uint32_t> labels, double smoothing);

// The gradient of the batch's MEAN cross-entropy against that target:
// dlogits = (exp(log_probs) - target) / n; smoothing 0 (the default): the mean NLL's gradient.
template <typename T>
void log_softmax_nll_backward(uint32_t n, uint32_t classes, std::span<const T> log_probs,
                              std::span<const uint32_t> labels, std::span<T> dlogits,
                              double smoothing = 0.0);

}  // namespace vkm::nn::reference
