// Each normalization's default recipe: what `vkmnist train` and `vkmnist compare` use when the
// flags are not given, and the learning rate `vkmnist sweep` scales with the batch size. The
// values are measured, not chosen: docs/sweep/recipe-search.md holds the sweeps behind them.
#pragma once

#include <cstdint>
#include <string>

namespace vkmnist {

struct Recipe {
  double lr;            // peak learning rate of the onecycle schedule at batch 128
  double l2;            // weight decay λ₂
  uint32_t batch_size;  // images per step (the peak rate scales linearly from 128 to it)
};

// The recipe of a norm name (bn, ln, gn, in); in shares gn's.
Recipe default_recipe(const std::string& norm);

// The peak learning rate at this batch size: the recipe's, scaled linearly from batch 128.
double default_lr(const std::string& norm, uint32_t batch_size);

// "0.05 for bn, 0.1 for ln, gn and in" style text of one field, for --help.
std::string recipe_help(double Recipe::*field);
std::string recipe_help(uint32_t Recipe::*field);

}  // namespace vkmnist
