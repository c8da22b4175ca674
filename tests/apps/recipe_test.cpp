// Each norm's recipe (apps/vkmnist/recipe.cpp): the peak learning rate scales linearly from batch
// 128, every norm has a batch size, an unknown norm is an error rather than another norm's values,
// and --help states the table with the norms that share a value named together.
#include <gtest/gtest.h>

#include "apps/vkmnist/recipe.hpp"
#include "engine/error.hpp"

namespace vkmnist {
namespace {

TEST(Recipe, LearningRateScalesLinearlyWithTheBatchSize) {
  for (const char* norm : {"bn", "ln", "gn", "in"}) {
    const double at128 = default_recipe(norm).lr;
    EXPECT_GT(at128, 0.0) << norm;
    EXPECT_DOUBLE_EQ(default_lr(norm, 128), at128) << norm;
    EXPECT_DOUBLE_EQ(default_lr(norm, 64), at128 / 2) << norm;
    EXPECT_DOUBLE_EQ(default_lr(norm, 16), at128 / 8) << norm;
    EXPECT_DOUBLE_EQ(default_lr(norm, 1000), at128 * 1000 / 128) << norm;
  }
}

TEST(Recipe, UnknownNormIsAnError) {
  EXPECT_THROW(default_recipe("xn"), vkm::Error);
  EXPECT_THROW(default_recipe(""), vkm::Error);
  EXPECT_THROW(default_lr("BN", 128), vkm::Error);  // names are checked lower-case first
}

TEST(Recipe, HelpGroupsTheNormsThatShareAValue) {
  EXPECT_EQ(recipe_help(&Recipe::lr), "0.05 for bn, 0.1 for ln, gn and in");
  EXPECT_EQ(recipe_help(&Recipe::l2), "0.0004 for bn and ln, 0 for gn and in");
  // Norms that share a value are named together even when others come between them.
  EXPECT_EQ(recipe_help(&Recipe::batch_size), "128 for bn, ln and in, 16 for gn");
}

TEST(Recipe, EveryNormHasABatchSize) {
  for (const char* norm : {"bn", "ln", "gn", "in"}) {
    const uint32_t batch = default_recipe(norm).batch_size;
    EXPECT_GE(batch, 1u) << norm;
    EXPECT_LE(batch, 60000u) << norm;
  }
}

}  // namespace
}  // namespace vkmnist
