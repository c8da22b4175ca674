// Learning-rate schedules against PyTorch's formulas at their landmarks.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
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

// PyTorch's pct_start: the peak moves to warmup * total - 1, the landmarks with it.
TEST(Schedule, OneCycleWarmupMovesThePeak) {
  const auto lr = learning_rates(ScheduleKind::kOneCycle, 0.1f, 10, 100, 0.15);
  ASSERT_EQ(lr.size(), 1000u);
  EXPECT_NEAR(lr[0], 0.004, 1e-7);
  EXPECT_NEAR(lr[149], 0.1, 1e-7);
  EXPECT_LT(lr[148], lr[149]);
  EXPECT_LT(lr[150], lr[149]);
  // On the way up PyTorch's cosine from 0.004 to 0.1 over 149 steps; halfway down the annealing
  // phase (149 + (999 - 149) / 2 = 574) the midpoint.
  EXPECT_NEAR(lr[74], 0.1 + (0.004 - 0.1) / 2 * (1 + std::cos(std::numbers::pi * 74.0 / 149.0)),
              1e-7);
  EXPECT_NEAR(lr[574], (0.1 + 0.004 / 1e4) / 2, 1e-6);
  EXPECT_NEAR(lr[999], 0.004 / 1e4, 1e-9);
  // The default is the 0.3 above, bit for bit.
  EXPECT_EQ(learning_rates(ScheduleKind::kOneCycle, 0.1f, 10, 100, kDefaultWarmup),
            learning_rates(ScheduleKind::kOneCycle, 0.1f, 10, 100));
  for (double bad : {0.0, 1.0, -0.1, 1.5}) {
    EXPECT_THROW(learning_rates(ScheduleKind::kOneCycle, 0.1f, 10, 100, bad), std::invalid_argument)
        << bad;
  }
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
