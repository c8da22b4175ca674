// Curves, digit grids, confusion matrices, the results table and report.md.
#include "apps/vkmnist/study_report.hpp"

#include <fmt/format.h>

#include <cmath>
#include <functional>

#include "apps/vkmnist/plots.hpp"
#include "apps/vkmnist/run_folder.hpp"
#include "apps/vkmnist/study_findings.hpp"
#include "apps/vkmnist/sweep_table.hpp"

namespace vkmnist {

namespace fs = std::filesystem;

std::vector<double> StudyModel::best_test_accuracies() const {
  std::vector<double> v{run.best_test_accuracy};
  for (const RunResult& r : other_seeds) v.push_back(r.best_test_accuracy);
  return v;
}

std::vector<double> StudyModel::final_test_accuracies() const {
  std::vector<double> v{run.final_test_accuracy};
  for (const RunResult& r : other_seeds) v.push_back(r.final_test_accuracy);
  return v;
}

std::vector<std::vector<uint32_t>> confusion_matrix(const vkm::nn::Dataset& test,
                                                    const std::vector<uint32_t>& predictions) {
  std::vector<std::vector<uint32_t>> m(10, std::vector<uint32_t>(10, 0));
  for (size_t i = 0; i < predictions.size() && i < test.labels.count; ++i) {
    if (predictions[i] < 10) ++m[test.labels.labels[i]][predictions[i]];
  }
  return m;
}

namespace {

// A model's loss, or its error rate in percent (100 - accuracy), per epoch of one split.
Curve curve(const StudyModel& m, const std::string& split, bool error) {
  Curve c{m.title, {}, {}};
  for (const auto& r : m.run.metrics) {
    if (r.split != split) continue;
    c.x.push_back(r.epoch);
    c.y.push_back(error ? 100.0 - r.accuracy : r.loss);
  }
  return c;
}

std::string confusion_csv(const std::vector<std::vector<uint32_t>>& m) {
  std::string out = "true\\predicted,0,1,2,3,4,5,6,7,8,9\n";
  for (int t = 0; t < 10; ++t) {
    out += std::to_string(t);
    for (int p = 0; p < 10; ++p) out += "," + std::to_string(m[t][p]);
    out += "\n";
  }
  return out;
}

std::string confusion_markdown(const std::vector<std::vector<uint32_t>>& m) {
  std::string out = "| true ↓ / predicted → | 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 |\n|---|";
  for (int p = 0; p < 10; ++p) out += "---:|";
  out += "\n";
  for (int t = 0; t < 10; ++t) {
    out += fmt::format("| **{}** |", t);
    for (int p = 0; p < 10; ++p)
      out += t == p ? fmt::format(" {} |", m[t][p])
                    : (m[t][p] ? fmt::format(" **{}** |", m[t][p]) : " · |");
    out += "\n";
  }
  return out;
}

}  // namespace

void write_study(const fs::path& folder, const std::vector<StudyModel>& models,
                 uint32_t train_images, const vkm::nn::Dataset& test,
                 const std::string& command_line) {
  // Losses and error rates (100 - accuracy) on log axes: every epoch is shown, from the first
  // epoch's tens of percent to the last epochs' differences of a tenth of a percent.
  std::vector<Panel> panels = {
      {"Training loss (log scale)", "epoch", "mean NLL", {}, true},
      {"Test loss (log scale)", "epoch", "mean NLL", {}, true},
      {"Training error (log scale)", "epoch", "error (%) = 100 - accuracy", {}, true},
      {"Test error (log scale)", "epoch", "error (%) = 100 - accuracy", {}, true}};
  for (const auto& m : models) {
    panels[0].curves.push_back(curve(m, "train", false));
    panels[1].curves.push_back(curve(m, "test", false));
    panels[2].curves.push_back(curve(m, "train", true));
    panels[3].curves.push_back(curve(m, "test", true));
  }
  plot_panels(folder / "curves.png", panels, 2);

  // The first seed's figures, and with several seeds every seed's as mean ± sd (n - 1).
  size_t seeds = 1;
  for (const auto& m : models) seeds = std::max(seeds, m.seeds());
  std::string results =
      "model,norm,parameters,best_test_accuracy,best_epoch,final_test_accuracy,seconds_per_epoch,"
      "device,seeds,best_test_accuracy_mean,best_test_accuracy_sd,final_test_accuracy_mean,"
      "final_test_accuracy_sd,lr,l2,batch_size\n";
  std::string table =
      seeds > 1
          ? fmt::format(
                "| model | batch | peak lr | L2 | parameters | best test accuracy (first seed) | "
                "final test accuracy (first seed) | misclassified (final, first seed) | best, mean "
                "± sd of {0} seeds | final, mean ± sd of {0} seeds | s / epoch |\n"
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
                seeds)
          : "| model | batch | peak lr | L2 | parameters | best test accuracy | final test "
            "accuracy | misclassified (final) | s / epoch |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  std::string grids, confusions;
  for (const auto& m : models) {
    const auto& r = m.run;
    std::vector<DigitCell> cells;
    uint32_t wrong = 0;
    for (size_t i = 0; i < r.predictions.size(); ++i) {
      const uint32_t label = test.labels.labels[i];
      if (r.predictions[i] == label) continue;
      ++wrong;
      if (cells.size() < 10) {
        const auto* px = test.images.pixels.data() + i * 784;
        cells.push_back(
            {std::vector<uint8_t>(px, px + 784), 28, 28,
             fmt::format("predicted {}, true {}\ntest image #{}", r.predictions[i], label, i)});
      }
    }
    const std::string grid = fmt::format("misclassified_{}.png", m.key);
    plot_digit_grid(
        folder / grid,
        fmt::format("{}: {} of {} misclassified test digits", m.title, cells.size(), wrong), cells);
    const auto confusion = confusion_matrix(test, r.predictions);
    write_file_atomically(folder / fmt::format("confusion_{}.csv", m.key),
                          confusion_csv(confusion));

    const Spread best = spread(m.best_test_accuracies());
    const Spread last = spread(m.final_test_accuracies());
    results += fmt::format(
        "\"{}\",{},{},{:.2f},{},{:.2f},{:.2f},\"{}\",{},{:.4f},{:.4f},{:.4f},{:.4f},{:g},{:g},{}\n",
        m.title, m.key, r.parameters, r.best_test_accuracy, r.best_epoch, r.final_test_accuracy,
        r.seconds_per_epoch, r.device, m.seeds(), best.mean, best.sd, last.mean, last.sd,
        r.options.lr, r.options.l2, r.options.batch_size);
    table += fmt::format("| {} | {} | {:g} | {:g} | {} | {:.2f}% (epoch {}) | {:.2f}% | {} |",
                         m.title, r.options.batch_size, r.options.lr, r.options.l2, r.parameters,
                         r.best_test_accuracy, r.best_epoch, r.final_test_accuracy, wrong);
    if (seeds > 1) {
      table += fmt::format(" {:.2f} ± {:.2f}% | {:.2f} ± {:.2f}% |", best.mean, best.sd, last.mean,
                           last.sd);
    }
    table += fmt::format(" {:.1f} |\n", r.seconds_per_epoch);
    grids += fmt::format("### {}\n\n![{} misclassified digits]({})\n\n", m.title, m.key, grid);
    confusions += fmt::format(
        "### {}\n\n{}\n[confusion_{}.csv](confusion_{}.csv) · [metrics]({}/metrics.csv) · "
        "[checkpoint]({}/model.safetensors)\n\n",
        m.title, confusion_markdown(confusion), m.key, m.key, m.key, m.key);
  }
  write_file_atomically(folder / "results.csv", results);

  const std::string device = models.empty() ? "" : models.front().run.device;
  const bool same_recipe = std::all_of(models.begin(), models.end(), [&](const StudyModel& m) {
    const TrainOptions& a = m.run.options;
    const TrainOptions& b = models.front().run.options;
    return a.lr == b.lr && a.l2 == b.l2 && a.batch_size == b.batch_size;
  });
  const auto test_images = test.images.count;
  std::string data_line =
      fmt::format("Data: {} training and {} test images.", train_images, test_images);
  if (train_images < 60000 || test_images < 10000) {
    data_line +=
        " **A subset of MNIST** (--train-limit / --test-limit): a quick run whose figures are not "
        "comparable with a study on the whole set (60,000 and 10,000 images).";
  }
  std::string report = fmt::format(
      "# Normalization study: BatchNorm + L1 vs LayerNorm vs GroupNorm on MNIST\n\n"
      "The same ~8,000-parameter CNN trained {}, schedule and augmentation; {}. Trained entirely "
      "on {} by vkmnist.\n\n"
      "Command: `{}`\n\n{}\n\n## Results\n\n{}\n[results.csv](results.csv)\n\n"
      "## Findings (computed from the numbers above)\n\n{}\n"
      "## Loss and accuracy\n\n![loss and accuracy curves](curves.png)\n\n"
      "Training figures are measured on the augmented images in training mode (dropout on); test "
      "figures "
      "in evaluation mode (BN with running statistics).\n\n## Misclassified digits\n\n"
      "The first ten misclassified test images of each final model, with predicted and true "
      "labels.\n\n{}"
      "## Confusion matrices (final models)\n\n{}",
      seeds > 1 ? fmt::format("{} times per model (one run per seed, the same seeds for every "
                              "model) with the same epochs",
                              seeds)
                : "once per model with the same seed",
      same_recipe ? "only the normalization (and BN's L1 penalty) differs"
                  : "the normalization differs (and BN's L1 penalty), and each trains with its own "
                    "recipe's batch size, peak learning rate and weight decay (the table's batch, "
                    "lr and L2)",
      device, command_line, data_line, table, study_findings(models, test), grids, confusions);
  write_file_atomically(folder / "report.md", report);
}

}  // namespace vkmnist
