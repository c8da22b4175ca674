// The study's outputs from three finished runs: curves.png, misclassified_<norm>.png,
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
  RunResult run;
};

// 10x10 counts, [true][predicted].
std::vector<std::vector<uint32_t>> confusion_matrix(const vkm::nn::Dataset& test,
                                                    const std::vector<uint32_t>& predictions);

void write_study(const std::filesystem::path& folder, const std::vector<StudyModel>& models,
                 uint32_t train_images, const vkm::nn::Dataset& test,
                 const std::string& command_line);

}  // namespace vkmnist
