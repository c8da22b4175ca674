// `vkmnist compare`: the study — BN + L1, LN and GN trained one after another with the same
// seed and schedule, then curves, misclassified digits, confusion matrices and report.md.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "apps/vkmnist/commands.hpp"
#include "apps/vkmnist/run_folder.hpp"
#include "apps/vkmnist/study_report.hpp"
#include "apps/vkmnist/training_run.hpp"
#include "engine/error.hpp"

namespace vkmnist {

std::function<int()> add_compare_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("compare", "The study: train BN + L1, LN and GN the same way and compare them");
  cmd->footer(
      "Writes into --out (default runs/compare-<date>-<time>): bn/, ln/, gn/ (each a full run folder), "
      "curves.png, misclassified_{bn,ln,gn}.png, confusion_{bn,ln,gn}.csv, results.csv and report.md.\n"
      "An interrupted study (or one stopped with --stop-after, which applies to each model) continues with "
      "--resume FOLDER: finished models are read back, an unfinished one resumes from its last epoch, "
      "bitwise as if uninterrupted.\n"
      "Examples:\n  vkmnist compare --epochs 20 --out runs/study\n  vkmnist compare --resume runs/study");
  auto o = std::make_shared<TrainOptions>();
  auto l1 = std::make_shared<double>(1e-5);
  add_train_options(*cmd, *o, false);
  cmd->add_option("--l1", *l1, "L1 penalty λ₁ of the BatchNorm model (LN and GN train without it)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--resume", o->resume, "Continue the study in this folder (its options are kept)");
  return [o, l1]() -> int {
    // A resumed study takes its options from the BN run's run.json, which is written first.
    const bool resuming = !o->resume.empty();
    const std::filesystem::path folder =
        resuming ? std::filesystem::path(o->resume) : o->out.empty() ? default_run_folder("compare") : std::filesystem::path(o->out);
    if (std::filesystem::exists(folder / "report.md")) {
      throw vkm::Error(fmt::format("{} already holds a finished study: choose another --out", folder.string()));
    }
    TrainOptions base = *o;
    if (resuming) {
      if (!std::filesystem::exists(folder / "bn" / "run.json")) {
        throw vkm::Error(fmt::format("{} holds no study to resume (no bn/run.json)", folder.string()));
      }
      TrainOptions given = *o;
      given.resume = (folder / "bn").string();
      base = resumed_options(given);
      *l1 = base.l1;
    } else if (std::filesystem::exists(folder / "bn" / "run.json")) {
      throw vkm::Error(fmt::format("{} already holds a study: continue it with --resume {}, or choose another --out",
                                   folder.string(), folder.string()));
    }
    base.resume.clear();
    to_config(base);
    const Data data = load_data(base);
    vkm::Context context(vkm::ContextOptions{.device = base.device});
    std::vector<StudyModel> models;
    bool finished = true;
    for (const char* norm : {"bn", "ln", "gn"}) {
      TrainOptions run = base;
      run.norm = norm;
      run.l1 = run.norm == "bn" ? *l1 : 0.0;
      run.out = (folder / norm).string();
      std::string title = vkm::nn::norm_long_name(vkm::nn::parse_norm(norm));
      if (run.norm == "bn" && run.l1 > 0) title += fmt::format(" + L1 (λ₁ = {:g})", run.l1);
      if (run.norm == "gn") title += fmt::format(" ({} groups)", run.groups);
      if (!base.json && !base.quiet) fmt::print("== {} ==\n", title);
      const std::filesystem::path sub = folder / norm;
      uint32_t done = 0;
      if (std::filesystem::exists(sub / "metrics.csv")) {
        for (const auto& row : parse_metrics_csv(sub / "metrics.csv")) done = std::max(done, row.epoch);
      }
      if (done >= base.epochs) {
        if (!base.json) fmt::print("{}: all {} epochs done, read back from {}\n", norm, base.epochs, sub.string());
        models.push_back({norm, title, finished_run(sub, data.test)});
        continue;
      }
      if (done > 0) {
        TrainOptions given = run;
        given.resume = sub.string();
        run = resumed_options(given);
      }
      models.push_back({norm, title, run_training(context, run, data)});
      if (models.back().run.metrics.size() < 2 * size_t{base.epochs}) finished = false;
    }
    if (!finished) {
      if (!base.json) fmt::print("study stopped early: continue with vkmnist compare --resume {}\n", folder.string());
      return 0;
    }
    const std::string command = fmt::format(
        "vkmnist compare --epochs {} --batch-size {} --lr {:g} --schedule {} --augment {} --dropout {:g} --l1 {:g} --groups {} --seed {}{}{}",
        base.epochs, base.batch_size, base.lr, base.schedule, base.augment, base.dropout, *l1, base.groups, base.seed,
        base.train_limit ? fmt::format(" --train-limit {}", base.train_limit) : "",
        base.test_limit ? fmt::format(" --test-limit {}", base.test_limit) : "");
    write_study(folder, models, data.test, command);
    if (!base.json) fmt::print("study written to {}/report.md\n", folder.string());
    return 0;
  };
}

}  // namespace vkmnist
