// CPU reference of log-softmax + NLL: hand-worked values, logits of large magnitude, ties in the
// argmax, label smoothing by hand, and the backward (of the batch's mean NLL, and of the smoothed
// loss) against finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "nn/reference/loss.hpp"
#include "nn/reference/rng.hpp"
#include "tests/support/gradcheck.hpp"

namespace vkm::nn::reference {
namespace {

TEST(LossReference, UniformLogitsGiveLogClasses) {
  const std::vector<float> logits(2 * 4, 3.0f);  // [2, 4]
  const std::vector<uint32_t> labels = {0, 2};
  std::vector<float> log_probs(8);
  std::vector<uint32_t> predictions(2, 99);
  uint32_t correct = 99;
  const float loss =
      log_softmax_nll_forward<float>(2, 4, logits, labels, log_probs, &correct, predictions);
  EXPECT_NEAR(loss, 2 * std::log(4.0), 1e-6);  // a sum over the batch, not a mean
  for (float v : log_probs) EXPECT_NEAR(v, -std::log(4.0), 1e-6);
  EXPECT_EQ(predictions, (std::vector<uint32_t>{0, 0}));  // all tied: the first wins
  EXPECT_EQ(correct, 1u);
}

TEST(LossReference, HandWorkedTwoClasses) {
  // Row 0: logits (0, ln 3): p = (1/4, 3/4); label 1 -> nll = ln(4/3), correct.
  // Row 1: logits (2, 2 + ln 3), label 0 -> nll = ln 4, wrong.
  const std::vector<double> logits = {0, std::log(3.0), 2, 2 + std::log(3.0)};
  const std::vector<uint32_t> labels = {1, 0};
  std::vector<double> log_probs(4);
  std::vector<uint32_t> predictions(2);
  uint32_t correct = 0;
  const double loss =
      log_softmax_nll_forward<double>(2, 2, logits, labels, log_probs, &correct, predictions);
  EXPECT_NEAR(loss, std::log(4.0 / 3.0) + std::log(4.0), 1e-12);
  EXPECT_NEAR(log_probs[0], std::log(0.25), 1e-12);
  EXPECT_NEAR(log_probs[3], std::log(0.75), 1e-12);
  EXPECT_EQ(predictions, (std::vector<uint32_t>{1, 1}));
  EXPECT_EQ(correct, 1u);
  std::vector<double> dlogits(4);
  log_softmax_nll_backward<double>(2, 2, log_probs, labels, dlogits);
  EXPECT_NEAR(dlogits[0], 0.25 / 2, 1e-12);
  EXPECT_NEAR(dlogits[1], (0.75 - 1) / 2, 1e-12);
  EXPECT_NEAR(dlogits[2], (0.25 - 1) / 2, 1e-12);
  EXPECT_NEAR(dlogits[3], 0.75 / 2, 1e-12);
}

TEST(LossReference, LargeLogitsStayFinite) {
  // [1, 3]: exp(80) would overflow a float; subtracting the max keeps everything finite.
  const std::vector<float> logits = {80.0f, -80.0f, 79.0f};
  std::vector<float> log_probs(3);
  std::vector<uint32_t> predictions(1);
  uint32_t correct = 0;
  const float loss = log_softmax_nll_forward<float>(1, 3, logits, std::vector<uint32_t>{1},
                                                    log_probs, &correct, predictions);
  const double lse = 80.0 + std::log(1.0 + std::exp(-1.0) + std::exp(-160.0));
  EXPECT_NEAR(loss, lse + 80.0, 1e-4);
  EXPECT_NEAR(log_probs[0], 80.0 - lse, 1e-6);
  EXPECT_NEAR(log_probs[2], 79.0 - lse, 1e-6);
  EXPECT_EQ(predictions[0], 0u);
  EXPECT_EQ(correct, 0u);
}

TEST(LossReference, ArgmaxTiesGoToTheFirstMaximum) {
  const std::vector<float> logits = {1, 5, 5, 2,  //
                                     7, 7, 7, 7,  //
                                     0, 0, 0, 3};
  std::vector<float> log_probs(12);
  std::vector<uint32_t> predictions(3);
  uint32_t correct = 0;
  log_softmax_nll_forward<float>(3, 4, logits, std::vector<uint32_t>{2, 0, 3}, log_probs, &correct,
                                 predictions);
  EXPECT_EQ(predictions, (std::vector<uint32_t>{1, 0, 3}));
  EXPECT_EQ(correct, 2u);
}

// Label smoothing: the cross-entropy against (1 - s) * onehot + s / classes, PyTorch's
// label_smoothing. At s = 0 it is the NLL; by hand for two classes; the backward is its gradient.
TEST(LossReference, SmoothedCrossEntropyByHand) {
  const std::vector<double> logits = {1.0, 3.0, 0.5, -0.5};
  const std::vector<uint32_t> labels = {1, 0};
  std::vector<double> log_probs(4);
  const double nll = log_softmax_nll_forward<double>(2, 2, logits, labels, log_probs, nullptr, {});
  EXPECT_DOUBLE_EQ(smoothed_cross_entropy<double>(2, 2, log_probs, labels, 0.0), nll);
  // Sample 0 targets (0.1, 0.9), sample 1 (0.9, 0.1) at s = 0.2.
  const double want =
      -(0.1 * log_probs[0] + 0.9 * log_probs[1]) - (0.9 * log_probs[2] + 0.1 * log_probs[3]);
  EXPECT_NEAR(smoothed_cross_entropy<double>(2, 2, log_probs, labels, 0.2), want, 1e-15);
  std::vector<double> dlogits(4);
  log_softmax_nll_backward<double>(2, 2, log_probs, labels, dlogits, 0.2);
  EXPECT_NEAR(dlogits[0], (std::exp(log_probs[0]) - 0.1) / 2, 1e-15);
  EXPECT_NEAR(dlogits[3], (std::exp(log_probs[3]) - 0.1) / 2, 1e-15);
  EXPECT_THROW(log_softmax_nll_backward<double>(2, 2, log_probs, labels, dlogits, 1.01),
               std::invalid_argument);
  EXPECT_THROW(smoothed_cross_entropy<double>(2, 2, log_probs, labels, -0.01),
               std::invalid_argument);
}

// The backward is the gradient of the batch's mean NLL (smoothing 0, the NLL from the forward)
// and of the mean smoothed cross-entropy.
TEST(LossReference, BackwardIsTheGradientOfTheMeanLoss) {
  const uint32_t n = 7, classes = 10;
  std::vector<double> logits(n * classes);
  for (size_t i = 0; i < logits.size(); ++i) {
    logits[i] = 8.0 * rng_uniform(3, 1, static_cast<uint32_t>(i)) - 4.0;
  }
  std::vector<uint32_t> labels(n);
  for (uint32_t i = 0; i < n; ++i) labels[i] = (3 * i + 1) % classes;
  for (double s : {0.0, 0.1, 0.5, 1.0}) {
    std::vector<double> log_probs(logits.size()), dlogits(logits.size());
    log_softmax_nll_forward<double>(n, classes, logits, labels, log_probs, nullptr, {});
    log_softmax_nll_backward<double>(n, classes, log_probs, labels, dlogits, s);
    auto mean_loss = [&](const std::vector<double>& at) {
      std::vector<double> lp(at.size());
      const double nll = log_softmax_nll_forward<double>(n, classes, at, labels, lp, nullptr, {});
      return (s == 0.0 ? nll : smoothed_cross_entropy<double>(n, classes, lp, labels, s)) / n;
    };
    EXPECT_TRUE(vkm::test::gradcheck("log_softmax_nll_backward, smoothing " + std::to_string(s),
                                     mean_loss, logits, dlogits));
  }
}

TEST(LossReference, RejectsLabelsOutOfRange) {
  const std::vector<float> logits(4);
  std::vector<float> log_probs(4);
  EXPECT_THROW(log_softmax_nll_forward<float>(2, 2, logits, std::vector<uint32_t>{0, 2}, log_probs,
                                              nullptr, {}),
               std::invalid_argument);
}

}  // namespace
}  // namespace vkm::nn::reference
