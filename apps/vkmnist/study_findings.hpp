// The findings section of the study's report.md: sentences computed from the finished models'
// numbers, never written by hand — which model is best, by how many test images and (with several
// seeds) whether that exceeds the spread over seeds, each model's train–test gap, its
// most-confused digit pairs, and how much the models' misclassified test images overlap, between
// models and (with several seeds) between one model's seeds.
#pragma once

#include <string>
#include <vector>

#include "apps/vkmnist/study_report.hpp"

namespace vkmnist {

// Markdown: a bulleted list, one finding per bullet.
std::string study_findings(const std::vector<StudyModel>& models, const vkm::nn::Dataset& test);

}  // namespace vkmnist
