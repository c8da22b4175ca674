// LogSoftmaxNll on the device vs the CPU reference: batch 1, 3, 128 and a partial batch; logits
// of large magnitude (±80) and with ties; the gradient with and without label smoothing; the
// stats slot, predictions at an offset, and nothing written outside them; poisoned outputs;
// bitwise determinism.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/layers/loss.hpp"
#include "nn/reference/loss.hpp"
#include "tests/support/case_name.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/random.hpp"

namespace vkm::test {
namespace {

enum class Logits { kModerate, kLarge, kTied };

// The loss of a confident sample is log(1 + a small sum): the Vulkan spec lets log be off by
// 2^-21 in absolute terms for arguments in [0.5, 2], so a tiny loss (and p - 1 for its label,
// from exp of it) may carry that error whatever its size. Per sample, twice that bound (the log and
// the exp that follows it); the relative tolerance still judges everything larger.
constexpr double kLogNearOneError = 2.0 / (1 << 21);

struct Case {
  uint32_t max_batch;
  uint32_t n;
  uint32_t classes;
  Logits logits;
  float smoothing = 0.0f;  // the gradient's label smoothing
};

std::string name(const Case& c) {
  const char* kind = c.logits == Logits::kModerate ? "moderate"
                     : c.logits == Logits::kLarge  ? "large"
                                                   : "tied";
  return fmt::format("batch {} of {}, {} classes, {} logits{}", c.n, c.max_batch, c.classes, kind,
                     c.smoothing != 0.0f ? fmt::format(", smoothing {}", c.smoothing) : "");
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << name(c);
}

std::vector<float> make_logits(const Case& c) {
  const size_t count = size_t{c.max_batch} * c.classes;
  switch (c.logits) {
    case Logits::kModerate:
      return uniform(count, -4.0f, 4.0f, 1);
    case Logits::kLarge:
      return uniform(count, -80.0f, 80.0f, 2);
    case Logits::kTied: {
      auto v = uniform(count, 0.0f, 3.0f, 3);  // integers 0..2: most rows tie for the max
      for (auto& f : v) f = std::floor(f);
      return v;
    }
  }
  return {};
}

template <typename T>
std::vector<T> download(Device& device, const Buffer& b) {
  std::vector<T> v(b.size() / sizeof(T));
  device.download(b, std::as_writable_bytes(std::span(v)));
  return v;
}

class LossGpuTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(LossGpuTest, MatchesReference) {
  const Case& c = GetParam();
  const uint32_t slot = 2, slots = 4, offset = 5;
  const nn::Shape shape{c.max_batch, c.classes, 1, 1};
  const nn::LogSoftmaxNll loss(kernels(), c.max_batch, c.classes);
  nn::Tensor logits(device(), shape, "logits"), log_probs(device(), shape, "log_probs");
  nn::Tensor dlogits(device(), shape, "dlogits");
  const auto logit_values = make_logits(c);
  logits.upload(logit_values);
  std::vector<uint32_t> label_values(c.max_batch);
  const auto r = uniform(c.max_batch, 0.0f, static_cast<float>(c.classes), 4);
  for (uint32_t i = 0; i < c.max_batch; ++i) {
    label_values[i] = std::min(static_cast<uint32_t>(r[i]), c.classes - 1);
  }
  // Every third sample labelled with its argmax, so the correct count is not always ~1/classes.
  for (uint32_t i = 0; i < c.max_batch; i += 3) {
    const float* row = logit_values.data() + size_t{i} * c.classes;
    label_values[i] = static_cast<uint32_t>(std::max_element(row, row + c.classes) - row);
  }
  Buffer labels = device().buffer(c.max_batch * sizeof(uint32_t), "labels");
  device().upload(labels, std::as_bytes(std::span(label_values)));
  Buffer stats = device().buffer(slots * 2 * sizeof(float), "stats");
  Buffer predictions =
      device().buffer((offset + c.max_batch + 3) * sizeof(uint32_t), "predictions");

  // Reference on the first n samples.
  const size_t count = size_t{c.n} * c.classes;
  const std::vector<double> head_logits(logit_values.begin(), logit_values.begin() + count);
  const std::vector<uint32_t> head_labels(label_values.begin(), label_values.begin() + c.n);
  std::vector<double> want_log_probs(count), want_dlogits(count);
  std::vector<uint32_t> want_predictions(c.n);
  uint32_t want_correct = 0;
  const double want_nll = nn::reference::log_softmax_nll_forward<double>(
      c.n, c.classes, head_logits, head_labels, want_log_probs, &want_correct, want_predictions);
  nn::reference::log_softmax_nll_backward<double>(c.n, c.classes, want_log_probs, head_labels,
                                                  want_dlogits, c.smoothing);

  auto forward = [&] {
    log_probs.fill(NAN);
    device().fill(stats, 0x7FC00000u);
    device().fill(predictions, 0xFFFFFFFFu);
    Graph g;
    loss.record_forward(g, logits, labels, log_probs, stats, slot, predictions, offset, c.n);
    Program(device(), g).run();
  };
  forward();
  const auto got_log_probs = log_probs.download();
  const auto got_stats = download<float>(device(), stats);
  const auto got_predictions = download<uint32_t>(device(), predictions);
  const std::vector<float> head_got(got_log_probs.begin(), got_log_probs.begin() + count);
  EXPECT_TRUE(close("log_softmax_nll_forward log_probs " + name(c), head_got, want_log_probs,
                    kKernelTolerance));
  EXPECT_TRUE(std::all_of(got_log_probs.begin() + count, got_log_probs.end(), [](float f) {
    return std::isnan(f);
  })) << "forward wrote log_probs past sample n";
  EXPECT_TRUE(close("log_softmax_nll_forward nll sum " + name(c),
                    std::span(&got_stats[2 * slot], 1), std::span(&want_nll, 1), kKernelTolerance,
                    c.n * kLogNearOneError));
  EXPECT_EQ(got_stats[2 * slot + 1], static_cast<float>(want_correct)) << name(c);
  for (uint32_t s = 0; s < slots; ++s) {
    if (s != slot) {
      EXPECT_TRUE(std::isnan(got_stats[2 * s]) && std::isnan(got_stats[2 * s + 1])) << "slot " << s;
    }
  }
  for (size_t i = 0; i < got_predictions.size(); ++i) {
    const bool written = i >= offset && i < offset + c.n;
    EXPECT_EQ(got_predictions[i], written ? want_predictions[i - offset] : 0xFFFFFFFFu)
        << "predictions[" << i << "] " << name(c);
  }

  forward();
  EXPECT_TRUE(bitwise_equal("log_softmax_nll_forward rerun " + name(c), got_log_probs,
                            log_probs.download()));
  EXPECT_TRUE(bitwise_equal("log_softmax_nll_forward stats rerun " + name(c), got_stats,
                            download<float>(device(), stats)));

  // In training the same dispatch also writes the gradient (another pipeline: its sums may round
  // differently from the forward-only one, so both are checked against the reference, and each
  // against its own rerun bit for bit).
  auto with_gradient = [&] {
    log_probs.fill(NAN);
    dlogits.fill(NAN);
    device().fill(stats, 0x7FC00000u);
    Graph g;
    loss.record_forward(g, logits, labels, log_probs, stats, slot, predictions, offset, c.n,
                        &dlogits, c.smoothing);
    Program(device(), g).run();
    return std::vector<std::vector<float>>{dlogits.download(), log_probs.download(),
                                           download<float>(device(), stats)};
  };
  const auto trained = with_gradient();
  const auto& got_dlogits = trained[0];
  EXPECT_TRUE(close("log_softmax_nll_forward with gradient, log_probs " + name(c),
                    std::vector<float>(trained[1].begin(), trained[1].begin() + count),
                    want_log_probs, kKernelTolerance));
  EXPECT_TRUE(close("log_softmax_nll_forward with gradient, nll sum " + name(c),
                    std::span(&trained[2][2 * slot], 1), std::span(&want_nll, 1), kKernelTolerance,
                    c.n * kLogNearOneError));
  EXPECT_EQ(trained[2][2 * slot + 1], static_cast<float>(want_correct)) << name(c);
  EXPECT_TRUE(close("log_softmax_nll gradient " + name(c),
                    std::vector<float>(got_dlogits.begin(), got_dlogits.begin() + count),
                    std::span<const double>(want_dlogits), kKernelTolerance, kLogNearOneError));
  EXPECT_TRUE(std::all_of(got_dlogits.begin() + count, got_dlogits.end(), [](float f) {
    return std::isnan(f);
  })) << "the gradient was written past sample n";
  const auto rerun = with_gradient();
  for (size_t i = 0; i < trained.size(); ++i) {
    EXPECT_TRUE(
        bitwise_equal(fmt::format("log_softmax_nll with gradient, rerun output {} {}", i, name(c)),
                      trained[i], rerun[i]));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Batches, LossGpuTest,
    ::testing::Values(Case{1, 1, 10, Logits::kModerate}, Case{3, 3, 10, Logits::kLarge},
                      Case{128, 128, 10, Logits::kModerate}, Case{128, 128, 10, Logits::kLarge},
                      Case{128, 37, 10, Logits::kTied},      // partial batch
                      Case{300, 300, 7, Logits::kModerate},  // > one workgroup
                      Case{5, 4, 1, Logits::kModerate},      // one class
                      Case{128, 128, 10, Logits::kModerate, 0.1f},
                      Case{128, 93, 10, Logits::kLarge, 0.3f},
                      Case{3, 3, 7, Logits::kTied, 1.0f}),  // the uniform target
    [](const auto& param) { return test::case_name(param.index, name(param.param)); });

TEST(LossGpuArguments, RejectsBuffersTooSmall) {
  const nn::LogSoftmaxNll loss(kernels(), 4, 10);
  nn::Tensor logits(gpu().device, {4, 10, 1, 1}, "logits"),
      log_probs(gpu().device, {4, 10, 1, 1}, "lp");
  Buffer labels = gpu().device.buffer(4 * sizeof(uint32_t), "labels");
  Buffer stats = gpu().device.buffer(2 * 2 * sizeof(float), "stats");
  Buffer predictions = gpu().device.buffer(8 * sizeof(uint32_t), "predictions");
  Graph g;
  EXPECT_THROW(loss.record_forward(g, logits, labels, log_probs, stats, 2, predictions, 0, 4),
               Error);
  EXPECT_THROW(loss.record_forward(g, logits, labels, log_probs, stats, 1, predictions, 5, 4),
               Error);
  EXPECT_THROW(loss.record_forward(g, logits, labels, log_probs, stats, 1, predictions, 0, 5),
               Error);
  EXPECT_NO_THROW(loss.record_forward(g, logits, labels, log_probs, stats, 1, predictions, 4, 4));
  // Label smoothing lies in [0, 1] and shapes the gradient only.
  nn::Tensor dlogits(gpu().device, {4, 10, 1, 1}, "dlogits");
  for (float bad : {-0.1f, 1.5f, NAN}) {
    EXPECT_THROW(loss.record_forward(g, logits, labels, log_probs, stats, 1, predictions, 0, 4,
                                     &dlogits, bad),
                 Error)
        << bad;
  }
  EXPECT_THROW(
      loss.record_forward(g, logits, labels, log_probs, stats, 1, predictions, 0, 4, nullptr, 0.1f),
      Error);
  EXPECT_NO_THROW(loss.record_forward(g, logits, labels, log_probs, stats, 1, predictions, 0, 4,
                                      &dlogits, 1.0f));
}

}  // namespace
}  // namespace vkm::test
