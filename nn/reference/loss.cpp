// Plain loops for log-softmax + NLL, accumulating in double.
#include "nn/reference/loss.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace vkm::nn::reference {
namespace {

void check(const char* op, uint32_t n, uint32_t classes, size_t values, size_t labels_size,
           std::span<const uint32_t> labels, size_t out) {
  const size_t want = size_t{n} * classes;
  if (classes == 0 || values != want || out != want || labels_size != n) {
    throw std::invalid_argument(std::string(op) + ": expected " + std::to_string(n) + " x " +
                                std::to_string(classes) + " values and " + std::to_string(n) +
                                " labels");
  }
  for (uint32_t label : labels) {
    if (label >= classes) {
      throw std::invalid_argument(std::string(op) + ": label " + std::to_string(label) +
                                  " out of range for " + std::to_string(classes) + " classes");
    }
  }
}

void check_smoothing(const char* op, double smoothing) {
  if (!(smoothing >= 0.0 && smoothing <= 1.0)) {
    throw std::invalid_argument(std::string(op) + ": label smoothing " + std::to_string(smoothing) +
                                " outside [0, 1]");
  }
}

// The smoothed target's value for class k of a sample labelled `label`.
double target(uint32_t k, uint32_t label, double smoothing, uint32_t classes) {
  return (k == label ? 1.0 - smoothing : 0.0) + smoothing / classes;
}

}  // namespace

template <typename T>
T log_softmax_nll_forward(uint32_t n, uint32_t classes, std::span<const T> logits,
                          std::span<const uint32_t> labels, std::span<T> log_probs,
                          uint32_t* correct, std::span<uint32_t> predictions) {
  check("log_softmax_nll_forward", n, classes, logits.size(), labels.size(), labels,
        log_probs.size());
  if (!predictions.empty() && predictions.size() < n) {
    throw std::invalid_argument("log_softmax_nll_forward: fewer predictions than samples");
  }
  double total = 0.0;
  uint32_t right = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const T* row = logits.data() + size_t{i} * classes;
    uint32_t arg = 0;
    for (uint32_t k = 1; k < classes; ++k) {
      if (row[k] > row[arg]) arg = k;  // strict: the first maximum wins
    }
    const double max = row[arg];
    double sum = 0.0;
    for (uint32_t k = 0; k < classes; ++k) sum += std::exp(static_cast<double>(row[k]) - max);
    const double log_sum = std::log(sum);
    for (uint32_t k = 0; k < classes; ++k) {
      log_probs[size_t{i} * classes + k] =
          static_cast<T>((static_cast<double>(row[k]) - max) - log_sum);
    }
    total += log_sum - (static_cast<double>(row[labels[i]]) - max);
    if (arg == labels[i]) ++right;
    if (!predictions.empty()) predictions[i] = arg;
  }
  if (correct != nullptr) *correct = right;
  return static_cast<T>(total);
}

template <typename T>
T smoothed_cross_entropy(uint32_t n, uint32_t classes, std::span<const T> log_probs,
                         std::span<const uint32_t> labels, double smoothing) {
  check("smoothed_cross_entropy", n, classes, log_probs.size(), labels.size(), labels,
        log_probs.size());
  check_smoothing("smoothed_cross_entropy", smoothing);
  double total = 0.0;
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t k = 0; k < classes; ++k) {
      total -= target(k, labels[i], smoothing, classes) *
               static_cast<double>(log_probs[size_t{i} * classes + k]);
    }
  }
  return static_cast<T>(total);
}

template <typename T>
void log_softmax_nll_backward(uint32_t n, uint32_t classes, std::span<const T> log_probs,
                              std::span<const uint32_t> labels, std::span<T> dlogits,
                              double smoothing) {
  check("log_softmax_nll_backward", n, classes, log_probs.size(), labels.size(), labels,
        dlogits.size());
  check_smoothing("log_softmax_nll_backward", smoothing);
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t k = 0; k < classes; ++k) {
      const size_t at = size_t{i} * classes + k;
      dlogits[at] = static_cast<T>((std::exp(static_cast<double>(log_probs[at])) -
                                    target(k, labels[i], smoothing, classes)) /
                                   n);
    }
  }
}

#define VKM_INSTANTIATE(T)                                                                  \
  template T log_softmax_nll_forward<T>(uint32_t, uint32_t, std::span<const T>,             \
                                        std::span<const uint32_t>, std::span<T>, uint32_t*, \
                                        std::span<uint32_t>);                               \
  template T smoothed_cross_entropy<T>(uint32_t, uint32_t, std::span<const T>,              \
                                       std::span<const uint32_t>, double);                  \
  template void log_softmax_nll_backward<T>(uint32_t, uint32_t, std::span<const T>,         \
                                            std::span<const uint32_t>, std::span<T>, double);
VKM_INSTANTIATE(float)
VKM_INSTANTIATE(double)
#undef VKM_INSTANTIATE

}  // namespace vkm::nn::reference
