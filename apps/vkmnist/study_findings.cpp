// Findings of the study, computed from the models' metrics and predictions.
#include "apps/vkmnist/study_findings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace vkmnist {
namespace {

// The test images a model gets wrong (indices).
std::vector<size_t> misclassified(const RunResult& run, const vkm::nn::Dataset& test) {
  std::vector<size_t> wrong;
  for (size_t i = 0; i < run.predictions.size() && i < test.labels.count; ++i) {
    if (run.predictions[i] != test.labels.labels[i]) wrong.push_back(i);
  }
  return wrong;
}

// The last epoch's accuracy on a split (percent), or -1.
double last_accuracy(const RunResult& run, const std::string& split) {
  for (auto it = run.metrics.rbegin(); it != run.metrics.rend(); ++it) {
    if (it->split == split) return it->accuracy;
  }
  return -1.0;
}

}  // namespace

std::string study_findings(const std::vector<StudyModel>& models, const vkm::nn::Dataset& test) {
  if (models.empty()) return "";
  std::string out;
  const double images = static_cast<double>(test.labels.count);

  // Best by final test accuracy, and its margin in images.
  std::vector<const StudyModel*> ranked;
  for (const auto& m : models) ranked.push_back(&m);
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto* a, const auto* b) {
    return a->run.final_test_accuracy > b->run.final_test_accuracy;
  });
  if (ranked.size() >= 2) {
    const auto& a = *ranked[0];
    const auto& b = *ranked[1];
    const double points = a.run.final_test_accuracy - b.run.final_test_accuracy;
    out += fmt::format(
        "- **Best final model: {}** at {:.2f} %, {:.2f} points above {} ({:.2f} %): {:.0f} of the "
        "{:.0f} test images. One seed per model cannot say whether that exceeds the seed-to-seed "
        "spread; `vkmnist sweep --seeds 3` measures it.\n",
        a.title, a.run.final_test_accuracy, points, b.title, b.run.final_test_accuracy,
        points / 100.0 * images, images);
  }

  // Train–test gap at the last epoch.
  std::string gaps;
  for (const auto& m : models) {
    const double train = last_accuracy(m.run, "train"), eval = last_accuracy(m.run, "test");
    if (train < 0 || eval < 0) continue;
    gaps += fmt::format("{}{} {:.2f} % train, {:.2f} % test ({:+.2f})", gaps.empty() ? "" : "; ",
                        m.title, train, eval, eval - train);
  }
  if (!gaps.empty()) {
    out += fmt::format(
        "- **Train–test gap at the last epoch** (training accuracy measured on augmented images "
        "with dropout on, so test can be the higher): {}.\n",
        gaps);
  }

  // Most-confused pairs per model.
  for (const auto& m : models) {
    const auto c = confusion_matrix(test, m.run.predictions);
    std::vector<std::tuple<uint32_t, int, int>> pairs;
    for (int t = 0; t < 10; ++t) {
      for (int p = 0; p < 10; ++p) {
        if (t != p && c[t][p] > 0) pairs.push_back({c[t][p], t, p});
      }
    }
    std::stable_sort(pairs.begin(), pairs.end(),
                     [](const auto& x, const auto& y) { return std::get<0>(x) > std::get<0>(y); });
    if (pairs.empty()) continue;
    std::string list;
    for (size_t i = 0; i < std::min<size_t>(3, pairs.size()); ++i) {
      const auto& [count, t, p] = pairs[i];
      list += fmt::format("{}{} read as {} ({}×)", list.empty() ? "" : ", ", t, p, count);
    }
    out += fmt::format("- **{}, most-confused digits**: {}.\n", m.title, list);
  }

  // Overlap of the misclassified images.
  if (models.size() >= 2) {
    std::vector<std::vector<size_t>> wrong;
    for (const auto& m : models) wrong.push_back(misclassified(m.run, test));
    std::string pairs;
    for (size_t i = 0; i < models.size(); ++i) {
      for (size_t j = i + 1; j < models.size(); ++j) {
        std::vector<size_t> both;
        std::set_intersection(wrong[i].begin(), wrong[i].end(), wrong[j].begin(), wrong[j].end(),
                              std::back_inserter(both));
        const size_t either = wrong[i].size() + wrong[j].size() - both.size();
        pairs += fmt::format(
            "{}{} and {}: {} shared of {} ({:.0f} %)", pairs.empty() ? "" : "; ", models[i].key,
            models[j].key, both.size(), either,
            either ? 100.0 * static_cast<double>(both.size()) / static_cast<double>(either) : 0.0);
      }
    }
    std::vector<size_t> all = wrong[0];
    for (size_t k = 1; k < wrong.size(); ++k) {
      std::vector<size_t> next;
      std::set_intersection(all.begin(), all.end(), wrong[k].begin(), wrong[k].end(),
                            std::back_inserter(next));
      all = std::move(next);
    }
    out += fmt::format(
        "- **The models' mistakes overlap**: of the test images either of two models gets wrong, "
        "both get wrong — {}. All {} models get the same {} test image{} wrong.\n",
        pairs, models.size(), all.size(), all.size() == 1 ? "" : "s");
  }
  return out;
}

}  // namespace vkmnist
