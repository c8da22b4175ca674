// Findings of the study, computed from the models' metrics and predictions.
#include "apps/vkmnist/study_findings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

#include "apps/vkmnist/sweep_table.hpp"

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

// Of the test images either run gets wrong, how many both get wrong: {both, either}.
std::pair<size_t, size_t> shared_mistakes(const std::vector<size_t>& a,
                                          const std::vector<size_t>& b) {
  std::vector<size_t> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  return {both.size(), a.size() + b.size() - both.size()};
}

double percent(size_t part, size_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

// The best two models by final test accuracy — over the seeds when there are several.
std::string best_model(const std::vector<StudyModel>& models, double images) {
  struct Ranked {
    const StudyModel* model;
    Spread final;
  };
  std::vector<Ranked> ranked;
  for (const auto& m : models) ranked.push_back({&m, spread(m.final_test_accuracies())});
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.final.mean > b.final.mean; });
  const Ranked& a = ranked[0];
  const Ranked& b = ranked[1];
  const double points = a.final.mean - b.final.mean;
  const size_t seeds = std::min(a.model->seeds(), b.model->seeds());
  if (seeds < 2) {
    return fmt::format(
        "- **Best final model: {}** at {:.2f} %, {:.2f} points above {} ({:.2f} %): {:.0f} of the "
        "{:.0f} test images. One seed per model cannot say whether that exceeds the seed-to-seed "
        "spread; `vkmnist compare --seeds 3` measures it.\n",
        a.model->title, a.final.mean, points, b.model->title, b.final.mean, points / 100.0 * images,
        images);
  }
  const double noise = std::max(a.final.sd, b.final.sd);
  return fmt::format(
      "- **Best final model over {} seeds: {}** at {:.2f} ± {:.2f} %, {:.2f} points above {} "
      "({:.2f} ± {:.2f} %), about {:.0f} of the {:.0f} test images. That lead is {} twice the "
      "larger standard deviation over seeds ({:.2f}): {}.\n",
      seeds, a.model->title, a.final.mean, a.final.sd, points, b.model->title, b.final.mean,
      b.final.sd, points / 100.0 * images, images, points > 2.0 * noise ? "more than" : "within",
      noise,
      points > 2.0 * noise ? "a difference the seeds support"
                           : "the seeds do not support ranking the two");
}

}  // namespace

std::string study_findings(const std::vector<StudyModel>& models, const vkm::nn::Dataset& test) {
  if (models.empty()) return "";
  std::string out;
  const double images = static_cast<double>(test.labels.count);

  if (models.size() >= 2) out += best_model(models, images);

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
        const auto [both, either] = shared_mistakes(wrong[i], wrong[j]);
        pairs += fmt::format("{}{} and {}: {} shared of {} ({:.0f} %)", pairs.empty() ? "" : "; ",
                             models[i].key, models[j].key, both, either, percent(both, either));
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

  // The same model at two seeds: how much of the overlap above any retraining would give.
  std::string within;
  for (const auto& m : models) {
    if (m.other_seeds.empty()) continue;
    const auto [both, either] =
        shared_mistakes(misclassified(m.run, test), misclassified(m.other_seeds.front(), test));
    within += fmt::format("{}{}: {} shared of {} ({:.0f} %)", within.empty() ? "" : "; ", m.key,
                          both, either, percent(both, either));
  }
  if (!within.empty()) {
    out += fmt::format(
        "- **Mistakes one model shares with itself at its next seed** (the baseline for the "
        "overlap between models): {}.\n",
        within);
  }
  return out;
}

}  // namespace vkmnist
