// Whole training steps of the seed net on the device against the CPU reference network (double):
// every updated parameter, running statistic and momentum buffer, for bn, ln and gn, with
// dropout, L1 and L2 on; and evaluation's loss, accuracy and predictions.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "engine/graph.hpp"
#include "nn/clock.hpp"
#include "nn/model.hpp"
#include "nn/reference/seed_net.hpp"
#include "tests/support/case_name.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/random.hpp"

namespace vkm::test {
namespace {

struct Case {
  nn::NormKind norm;
  uint32_t groups;
  bool affine;
  uint32_t max_batch;
  uint32_t n;
  float label_smoothing = 0.0f;
};

std::string name(const Case& c) {
  return fmt::format("{} groups {}{} n{} of {}{}", nn::norm_name(c.norm), c.groups,
                     c.affine ? " affine" : "", c.n, c.max_batch,
                     c.label_smoothing != 0.0f ? " smoothed" : "");
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << name(c);
}

class ModelStepTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

nn::reference::NetState download_state(nn::Model& model) {
  nn::reference::NetState s;
  for (const auto& [name, tensor] : model.state()) {
    const auto v = tensor->download();
    s.tensors[name].assign(v.begin(), v.end());
  }
  return s;
}

template <typename T>
Buffer upload_buffer(Device& device, const std::vector<T>& values, const char* name) {
  Buffer b = device.buffer(values.size() * sizeof(T), name);
  device.upload(b, std::as_bytes(std::span(values)));
  return b;
}

TEST_P(ModelStepTest, TwoTrainingStepsMatchTheReferenceNetwork) {
  const Case& c = GetParam();
  const nn::NetConfig config{
      .norm = c.norm, .groups = c.groups, .affine = c.affine, .dropout = 0.1f};
  const nn::UpdateConfig update{
      .momentum = 0.9f, .l2 = 1e-3f, .l1 = 1e-3f, .label_smoothing = c.label_smoothing};
  nn::Model model(device(), kernels(), config, c.max_batch, update);
  model.initialize(test_seed());

  const size_t image = nn::kImageSize * nn::kImageSize;
  const uint32_t seed = 1234;
  const nn::ClockState clock_state{.epoch = 3, .steps_per_epoch = 2, .seed = seed};
  const std::vector<float> lr = {0, 0, 0, 0, 0, 0, 0.05f, 0.02f};  // global steps 6 and 7

  // The reference network first. Inputs that bring a pre-ReLU value or a max-pool near-tie
  // within float32's reach of a kink are drawn again: there the float network may take the other
  // branch and its gradients differ discretely, which says nothing about the kernels. That reach
  // (in units of the value's float32 error scale, see StepOutput::margins) grows with depth and
  // with the step, as rounding accumulates: kReach * (block + 1) * (step + 1). One value 2e-6
  // from a kink in norm7 at the second step was enough to move norm7.bias by 1 %.
  constexpr double kReach = 1e-6;
  constexpr uint32_t kAttempts = 50;
  const nn::reference::NetState initial = download_state(model);
  nn::reference::NetState ref;
  std::vector<nn::reference::StepOutput> ref_out;
  std::vector<float> x;
  std::vector<uint32_t> labels(c.max_batch);
  for (uint32_t attempt = 0;; ++attempt) {
    ASSERT_LT(attempt, kAttempts) << "no inputs found that keep the reference net from its kinks";
    // Inputs like normalized MNIST: mostly background, some strokes.
    x = uniform(size_t{c.max_batch} * image, -0.42f, 2.8f, 11 + 100 * attempt);
    std::mt19937 rng(static_cast<uint32_t>(test_seed() + attempt));
    for (auto& l : labels) l = static_cast<uint32_t>(rng() % nn::kClasses);
    ref = initial;
    ref_out.clear();
    bool clear = true;
    for (uint32_t step = 0; step < 2; ++step) {
      const uint32_t global = nn::global_step(clock_state, step);
      ref_out.push_back(nn::reference::train_step(
          config, ref, x, labels, c.n, {lr[global], update.momentum, update.l2, update.l1}, seed,
          global, update.label_smoothing));
      const auto& margins = ref_out.back().margins;
      for (size_t block = 0; block < margins.size(); ++block) {
        clear = clear && margins[block] >= kReach * static_cast<double>((block + 1) * (step + 1));
      }
    }
    if (clear) break;
  }
  model.input().upload(x);
  device().upload(model.labels(), std::as_bytes(std::span(labels)));

  Buffer clock = upload_buffer(device(), std::vector<nn::ClockState>{clock_state}, "clock");
  Buffer schedule = upload_buffer(device(), lr, "lr");
  Buffer stats = device().buffer(2 * 2 * sizeof(float), "stats");
  device().fill(stats, 0x7FC00000u);

  Graph graph;
  for (uint32_t step = 0; step < 2; ++step)
    model.record_train_step(graph, clock, schedule, stats, step, c.n);
  Program(device(), graph).run();

  const std::string what = name(c);
  for (const auto& [name, tensor] : model.state()) {
    EXPECT_TRUE(close(name + " after 2 steps, " + what, tensor->download(), ref.tensors.at(name),
                      kStepTolerance));
  }
  auto params = model.parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(close(params[i]->name + " momentum, " + what, model.velocities()[i].download(),
                      ref.velocity.at(params[i]->name), kStepTolerance));
  }
  std::vector<float> got(4);
  device().download(stats, std::as_writable_bytes(std::span(got)));
  for (uint32_t step = 0; step < 2; ++step) {
    EXPECT_NEAR(got[step * 2], ref_out[step].loss_sum, 1e-4 * ref_out[step].loss_sum) << what;
    EXPECT_EQ(got[step * 2 + 1], static_cast<float>(ref_out[step].correct)) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(Norms, ModelStepTest,
                         ::testing::Values(Case{nn::NormKind::kBatch, 4, true, 8, 8},
                                           Case{nn::NormKind::kBatch, 4, false, 6, 5},
                                           Case{nn::NormKind::kLayer, 1, true, 4, 3},
                                           Case{nn::NormKind::kGroup, 4, true, 5, 5},
                                           Case{nn::NormKind::kGroup, 2, false, 3, 2},
                                           Case{nn::NormKind::kInstance, 4, true, 4, 3},
                                           Case{nn::NormKind::kLayer, 1, true, 4, 4, 0.1f},
                                           Case{nn::NormKind::kGroup, 4, true, 5, 3, 0.2f}),
                         [](const auto& param) {
                           return test::case_name(param.index, name(param.param));
                         });

using ModelEvalTest = GpuTest;

TEST_F(ModelEvalTest, EvaluationMatchesTheReferenceNetwork) {
  const nn::NetConfig config{.norm = nn::NormKind::kBatch};
  nn::Model model(device(), kernels(), config, 7, {});
  model.initialize(test_seed() + 1);
  const auto x = uniform(7 * nn::kImageSize * nn::kImageSize, -0.42f, 2.8f, 12);
  std::vector<uint32_t> labels = {0, 1, 2, 3, 4, 5, 6};
  model.input().upload(x);
  device().upload(model.labels(), std::as_bytes(std::span(labels)));
  Buffer stats = device().buffer(3 * 2 * sizeof(float), "stats");
  Buffer predictions = device().buffer(20 * sizeof(uint32_t), "predictions");
  device().fill(stats, 0x7FC00000u);
  device().fill(predictions, 0xFFFFFFFFu);
  Graph graph;
  model.record_eval(graph, stats, 2, predictions, 9, 6);
  Program(device(), graph).run();

  const auto ref = nn::reference::eval_batch(config, download_state(model), x, labels, 6);
  std::vector<float> got(6);
  device().download(stats, std::as_writable_bytes(std::span(got)));
  EXPECT_NEAR(got[4], ref.loss_sum, 1e-5 * ref.loss_sum);
  EXPECT_EQ(got[5], static_cast<float>(ref.correct));
  std::vector<uint32_t> preds(20);
  device().download(predictions, std::as_writable_bytes(std::span(preds)));
  for (uint32_t i = 0; i < 20; ++i) {
    if (i >= 9 && i < 15) {
      EXPECT_EQ(preds[i], ref.predictions[i - 9]) << i;
    } else {
      EXPECT_EQ(preds[i], 0xFFFFFFFFu) << "prediction written outside its range at " << i;
    }
  }
}

}  // namespace
}  // namespace vkm::test
