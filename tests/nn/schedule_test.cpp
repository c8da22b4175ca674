// Learning-rate schedules against PyTorch's formulas at their landmarks.
#include <gtest/gtest.h>

#include <stdexcept>

#include "nn/schedule.hpp"

namespace vkm::nn {
namespace {

TEST(Schedule, OneCycleStartsAtADivTwentyFifthPeaksAt30PercentAndEndsNearZero) {
  const auto lr = learning_rates(ScheduleKind::kOneCycle, 0.1f, 10, 100);
  ASSERT_EQ(lr.size(), 1000u);
  EXPECT_NEAR(lr[0], 0.004, 1e-7);
  EXPECT_NEAR(lr[299], 0.1, 1e-7);  // pct_start * total - 1
  EXPECT_LT(lr[298], lr[299]);
  EXPECT_LT(lr[300], lr[299]);
  EXPECT_NEAR(lr[999], 0.004 / 1e4, 1e-9);
  // Halfway down the annealing phase the cosine gives the midpoint.
  EXPECT_NEAR(lr[649], (0.1 + 0.004 / 1e4) / 2, 1e-6);
}

TEST(Schedule, StepDecaysTenfoldEveryThirdOfTheRun) {
  const auto lr = learning_rates(ScheduleKind::kStep, 0.1f, 9, 10);
  EXPECT_FLOAT_EQ(lr[0], 0.1f);
  EXPECT_FLOAT_EQ(lr[29], 0.1f);
  EXPECT_FLOAT_EQ(lr[30], 0.01f);
  EXPECT_FLOAT_EQ(lr[89], 0.001f);
}

TEST(Schedule, ConstantAndParsing) {
  const auto lr = learning_rates(ScheduleKind::kConstant, 0.02f, 2, 3);
  for (float v : lr) EXPECT_EQ(v, 0.02f);
  EXPECT_EQ(parse_schedule("step"), ScheduleKind::kStep);
  EXPECT_THROW(parse_schedule("cosine"), std::invalid_argument);
}

}  // namespace
}  // namespace vkm::nn
