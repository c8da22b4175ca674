// `vkmnist compare`: the study — BN + L1, LN and GN trained one after another with the same
// seed and schedule, then curves, misclassified digits, confusion matrices and report.md.
#include <fmt/format.h>

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
      "Example: vkmnist compare --epochs 20");
  auto o = std::make_shared<TrainOptions>();
  auto l1 = std::make_shared<double>(1e-5);
  add_train_options(*cmd, *o, false);
  cmd->add_option("--l1", *l1, "L1 penalty λ₁ of the BatchNorm model (LN and GN train without it)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  return [o, l1]() -> int {
    to_config(*o);
    const Data data = load_data(*o);
    vkm::Context context(vkm::ContextOptions{.device = o->device});
    const std::filesystem::path folder = o->out.empty() ? default_run_folder("compare") : std::filesystem::path(o->out);
    if (std::filesystem::exists(folder / "report.md")) {
      throw vkm::Error(fmt::format("{} already holds a study: choose another --out", folder.string()));
    }
    std::vector<StudyModel> models;
    for (const char* norm : {"bn", "ln", "gn"}) {
      TrainOptions run = *o;
      run.norm = norm;
      run.l1 = run.norm == "bn" ? *l1 : 0.0;
      run.out = (folder / norm).string();
      std::string title = vkm::nn::norm_long_name(vkm::nn::parse_norm(norm));
      if (run.norm == "bn" && run.l1 > 0) title += fmt::format(" + L1 (λ₁ = {:g})", run.l1);
      if (run.norm == "gn") title += fmt::format(" ({} groups)", run.groups);
      if (!o->json && !o->quiet) fmt::print("== {} ==\n", title);
      models.push_back({norm, title, run_training(context, run, data)});
    }
    const std::string command = fmt::format(
        "vkmnist compare --epochs {} --batch-size {} --lr {:g} --schedule {} --augment {} --dropout {:g} --l1 {:g} --groups {} --seed {}{}",
        o->epochs, o->batch_size, o->lr, o->schedule, o->augment, o->dropout, *l1, o->groups, o->seed,
        o->train_limit ? fmt::format(" --train-limit {}", o->train_limit) : "");
    write_study(folder, models, data.test, command);
    if (!o->json) fmt::print("study written to {}/report.md\n", folder.string());
    return 0;
  };
}

}  // namespace vkmnist
