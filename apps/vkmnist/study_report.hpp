// The study's outputs from its finished runs: curves.png, misclassified_<norm>.png,
// confusion_<norm>.csv, results.csv and report.md (which shows all of them).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "apps/vkmnist/training_run.hpp"

namespace vkmnist {

struct StudyModel {
  std::string key;    // "bn", "ln", "gn": file names
  std::string title;  // "BatchNorm + L1 (λ₁ = 1e-05)"
  RunResult run;      // the first seed's: the figures, confusion matrices and overlaps show it
  std::vector<RunResult> other_seeds;  // the same model at the next seeds (compare --seeds)
  // Its batch size, peak learning rate and weight decay are run.options': each norm's recipe
  // unless compare was given --batch-size / --lr / --l2.

  size_t seeds() const { return 1 + other_seeds.size(); }
  // Best and final test accuracy (percent) of every seed, the first seed's first.
  std::vector<double> best_test_accuracies() const;
  std::vector<double> final_test_accuracies() const;
};

// 10x10 counts, [true][predicted].
std::vector<std::vector<uint32_t>> confusion_matrix(const vkm::nn::Dataset& test,
                                                    const std::vector<uint32_t>& predictions);

void write_study(const std::filesystem::path& folder, const std::vector<StudyModel>& models,
                 uint32_t train_images, const vkm::nn::Dataset& test,
                 const std::string& command_line);

}  // namespace vkmnist
