// `vkmnist compare`: the study — BN + L1, LN and GN trained one after another with the same
// seed and schedule (with --seeds N, N times each), then curves, misclassified digits, confusion
// matrices and report.md.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "apps/vkmnist/cli_checks.hpp"
#include "apps/vkmnist/commands.hpp"
#include "apps/vkmnist/interrupt.hpp"
#include "apps/vkmnist/recipe.hpp"
#include "apps/vkmnist/run_folder.hpp"
#include "apps/vkmnist/study_report.hpp"
#include "apps/vkmnist/training_run.hpp"
#include "engine/error.hpp"
#include "engine/kernel.hpp"

namespace vkmnist {
namespace {

namespace fs = std::filesystem;

// The study's own record, written before its first run: what its run folders cannot say — how
// many seeds, and the batch size, learning rate and weight decay given for every model (null: each
// norm's recipe). A study without one (written before --seeds) has one seed; one without "lr" and
// "l2" (written before the recipes) gave every model the BN run's, and one without "batch_size"
// (written before the recipes had one) the BN run's batch size.
struct StudyRecord {
  uint32_t seeds = 1;
  std::optional<double> lr;  // unset: each norm's recipe
  std::optional<double> l2;
  std::optional<uint32_t> batch_size;
};

nlohmann::json to_json(const StudyRecord& r) {
  auto value = [](const auto& v) { return v ? nlohmann::json(*v) : nullptr; };
  return {{"seeds", r.seeds},
          {"lr", value(r.lr)},
          {"l2", value(r.l2)},
          {"batch_size", value(r.batch_size)}};
}

StudyRecord read_study(const fs::path& folder, const TrainOptions& bn) {
  const fs::path file = folder / "study.json";
  StudyRecord r{1, bn.lr, bn.l2, bn.batch_size};
  if (!fs::exists(file)) return r;
  try {
    const auto j = nlohmann::json::parse(read_file(file));
    const auto seeds = j.at("seeds").get<int64_t>();
    if (seeds < 1 || seeds > 1000) throw vkm::Error("seeds must be 1 to 1000");
    r.seeds = static_cast<uint32_t>(seeds);
    for (auto [key, field] : {std::pair{"lr", &r.lr}, std::pair{"l2", &r.l2}}) {
      if (!j.contains(key)) continue;
      const auto& v = j.at(key);
      if (v.is_null()) {
        field->reset();
      } else if (v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() >= 0) {
        *field = v.get<double>();
      } else {
        throw vkm::Error(fmt::format("\"{}\" is {}, not null or a number", key, v.dump()));
      }
    }
    if (j.contains("batch_size")) {
      const auto& v = j.at("batch_size");
      if (v.is_null()) {
        r.batch_size.reset();
      } else if (v.is_number_unsigned() && v.get<uint64_t>() >= 1 && v.get<uint64_t>() <= 60000) {
        r.batch_size = static_cast<uint32_t>(v.get<uint64_t>());
      } else {
        throw vkm::Error(fmt::format("\"batch_size\" is {}, not null or 1 to 60000", v.dump()));
      }
    }
    return r;
  } catch (const std::exception& e) {
    throw vkm::Error(
        fmt::format("{}: not a study description vkmnist can read ({})", file.string(), e.what()));
  }
}

// The run folder of one model at one seed: bn/ for the first seed (the figures' model), then
// bn-seed-2/, bn-seed-3/, ... (named by the seed itself).
fs::path model_folder(const fs::path& study, const std::string& norm, uint32_t first_seed,
                      uint32_t seed) {
  return seed == first_seed ? study / norm : study / fmt::format("{}-seed-{}", norm, seed);
}

}  // namespace

std::function<int()> add_compare_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "compare", "The study: train BN + L1, LN and GN, each with its recipe, and compare them");
  cmd->footer(
      "Writes into --out (default runs/compare-<date>-<time>): bn/, ln/, gn/ (and in/ with "
      "--instance; each a full run folder), "
      "curves.png, misclassified_{bn,ln,gn}.png, confusion_{bn,ln,gn}.csv, results.csv and "
      "report.md.\n"
      "Each model trains with its norm's recipe — batch size, peak learning rate and weight "
      "decay (L2), as `vkmnist train` uses them — unless --batch-size, --lr or --l2 is given, "
      "which then applies to every model; BN alone has the L1 penalty.\n"
      "With --seeds N every model trains N times (seeds --seed, --seed + 1, ...; the others in "
      "bn-seed-<seed>/ ...): the tables add mean ± standard deviation over the seeds, and the "
      "findings say whether the best model's lead exceeds that spread. Figures, confusion "
      "matrices and the overlap of mistakes are the first seed's.\n"
      "An interrupted study (or one stopped with --stop-after, which applies to each model) "
      "continues with "
      "--resume FOLDER: finished models are read back, an unfinished one resumes from its last "
      "epoch, "
      "bitwise as if uninterrupted.\n"
      "Examples:\n  vkmnist compare --epochs 20 --out runs/study\n  vkmnist compare --epochs 15 "
      "--seeds 3 --out runs/study3\n  vkmnist compare --resume runs/study");
  auto o = std::make_shared<TrainOptions>();
  auto l1 = std::make_shared<double>(1e-5);
  add_train_options(*cmd, *o, false);
  cmd->add_option("--l1", *l1, "L1 penalty λ₁ of the BatchNorm model (LN and GN train without it)")
      ->check(non_negative())
      ->capture_default_str();
  auto instance = std::make_shared<bool>(false);
  cmd->add_flag("--instance", *instance,
                "Also train InstanceNorm (--norm in: one group per channel) as a fourth model, "
                "in in/");
  auto seeds = std::make_shared<uint32_t>(1);
  cmd->add_option("--seeds", *seeds,
                  "Train every model this many times (seeds --seed, --seed + 1, ...) and judge "
                  "the differences against the spread over seeds")
      ->check(between(1, 1000))
      ->capture_default_str();
  cmd->add_option("--resume", o->resume,
                  "Continue the study in this folder (its options are kept)");
  return [o, l1, instance, seeds, cmd]() -> int {
    // Everything is checked — options, data, and on --resume every model's folder — before the
    // first model trains, so a fault in the last model's files does not surface an hour later.
    // A resumed study takes its options from the BN run's run.json, which is written first.
    const bool resuming = !o->resume.empty();
    if (resuming) check_resume_options(*cmd);
    const fs::path folder = resuming         ? fs::path(o->resume)
                            : o->out.empty() ? default_run_folder("compare")
                                             : fs::path(o->out);
    if (fs::exists(folder / "report.md")) {
      throw vkm::Error(fmt::format("{} already holds a finished study (report.md){}",
                                   folder.string(), resuming ? "" : ": choose another --out"));
    }
    set_resume_hint("vkmnist compare --resume " + shell_quoted(folder.string()), /*outer=*/true);
    std::vector<std::string> norms = {"bn", "ln", "gn"};
    if (*instance || (resuming && fs::exists(folder / "in" / "run.json"))) norms.push_back("in");
    TrainOptions base = *o;
    StudyRecord record{*seeds, {}, {}, {}};
    if (cmd->count("--lr") > 0) record.lr = o->lr;
    if (cmd->count("--l2") > 0) record.l2 = o->l2;
    if (cmd->count("--batch-size") > 0) record.batch_size = o->batch_size;
    if (resuming) {
      if (!fs::exists(folder / "bn" / "run.json")) {
        throw vkm::Error(
            fmt::format("{} holds no study to resume (no bn/run.json)", folder.string()));
      }
      TrainOptions given = *o;
      given.resume = (folder / "bn").string();
      given.data_given = cmd->count("--data") > 0;
      base = resumed_options(given);
      *l1 = base.l1;
      record = read_study(folder, base);
      *seeds = record.seeds;
    } else {
      for (const std::string& norm : norms) {
        if (fs::exists(folder / norm / "run.json") || fs::exists(folder / "study.json")) {
          throw vkm::Error(fmt::format(
              "{} already holds a study: continue it with --resume {}, or choose another --out",
              folder.string(), folder.string()));
        }
      }
    }
    base.resume.clear();
    if (!resuming) {
      make_paths_absolute(base);
      // base: the BN model's.
      base.batch_size = record.batch_size.value_or(default_recipe("bn").batch_size);
      base.lr = record.lr.value_or(default_lr("bn", base.batch_size));
    }
    to_config(base);
    const Data data = load_data(base, resuming);

    struct Plan {
      std::string norm;
      std::string title;
      TrainOptions options;
      uint32_t done = 0;
      std::optional<RunResult> finished;
    };
    // Seed by seed, every model at the first seed before any at the second: an interrupted
    // study's first seed is a whole comparison.
    std::vector<Plan> plans;
    for (uint32_t k = 0; k < *seeds; ++k) {
      for (const std::string& norm : norms) {
        Plan plan{norm, vkm::nn::norm_long_name(vkm::nn::parse_norm(norm)), base, 0, {}};
        TrainOptions& run = plan.options;
        run.norm = norm;
        run.l1 = run.norm == "bn" ? *l1 : 0.0;
        run.batch_size = record.batch_size.value_or(default_recipe(norm).batch_size);
        run.lr = record.lr.value_or(default_lr(norm, run.batch_size));
        run.l2 = record.l2.value_or(default_recipe(norm).l2);
        run.seed = base.seed + k;
        run.out = model_folder(folder, norm, base.seed, run.seed).string();
        if (run.norm == "bn" && run.l1 > 0) plan.title += fmt::format(" + L1 (λ₁ = {:g})", run.l1);
        if (run.norm == "gn") plan.title += fmt::format(" ({} groups)", run.groups);
        if (resuming) {
          const fs::path sub = run.out;
          if (fs::exists(sub)) recover_run_folder(sub);
          plan.done = fs::exists(sub) ? epochs_completed(sub) : 0;
          if (plan.done >= base.epochs) {
            plan.finished = finished_run(sub, data.test);
          } else if (plan.done > 0) {
            TrainOptions given = run;
            given.resume = sub.string();
            run = resumed_options(given);
            completed_metrics(sub / "metrics.csv", plan.done);
          }
        }
        to_config(run);
        plans.push_back(std::move(plan));
      }
    }
    if (!resuming) {
      fs::create_directories(folder);
      write_file_atomically(folder / "study.json", to_json(record).dump(2) + "\n");
    }

    vkm::Context context(vkm::ContextOptions{.device = base.device});
    // One cache for every run: the seeds of a variant (and variants alike in a layer) share
    // their pipelines, built once.
    vkm::KernelCache kernels(context.device);
    std::vector<StudyModel> models;
    bool finished = true;
    for (size_t i = 0; i < plans.size(); ++i) {
      Plan& plan = plans[i];
      const bool first_seed = i < norms.size();
      const std::string seed_note = *seeds > 1
                                        ? fmt::format(", seed {} ({} of {})", plan.options.seed,
                                                      plan.options.seed - base.seed + 1, *seeds)
                                        : "";
      // The first seed's results are the models; the others join their model's other_seeds.
      auto keep = [&](RunResult result) {
        if (first_seed) {
          // The report states each run's own options (a finished run's from its run.json): a
          // study read back by a later vkmnist whose recipes differ reports the runs it holds.
          models.push_back({plan.norm, plan.title, std::move(result), {}});
        } else {
          models[i % norms.size()].other_seeds.push_back(std::move(result));
        }
      };
      if (!base.json && !base.quiet) fmt::print("== {}{} ==\n", plan.title, seed_note);
      if (plan.finished) {
        if (!base.json)
          fmt::print("{}{}: all {} epochs done, read back from {}\n", plan.norm, seed_note,
                     base.epochs, plan.options.out);
        keep(std::move(*plan.finished));
        continue;
      }
      if (resuming && plan.done == 0) {
        // Stopped before its first epoch's checkpoint: what it wrote is started again.
        for (const char* file : {"run.json", "summary.txt", "metrics.csv", "predictions.csv",
                                 "optimizer.safetensors"}) {
          fs::remove(fs::path(plan.options.out) / file);
        }
      }
      RunResult result = run_training(context, kernels, plan.options, data);
      if (result.metrics.empty() || result.metrics.back().epoch < base.epochs) {
        // --stop-after applies to each model: the study goes on to the next one.
        finished = false;
        if (first_seed) keep(std::move(result));
        continue;
      }
      keep(std::move(result));
    }
    if (!finished) {
      if (!base.json)
        fmt::print("study stopped early: continue with vkmnist compare --resume {}\n",
                   folder.string());
      return 0;
    }
    std::string command = fmt::format(
        "vkmnist compare --epochs {} --momentum {:g} --schedule {} --augment {} --dropout {:g} "
        "--l1 {:g} --groups {} --seed {}",
        base.epochs, base.momentum, base.schedule, base.augment, base.dropout, *l1, base.groups,
        base.seed);
    if (record.batch_size) command += fmt::format(" --batch-size {}", *record.batch_size);
    if (record.lr) command += fmt::format(" --lr {:g}", *record.lr);
    if (record.l2) command += fmt::format(" --l2 {:g}", *record.l2);
    if (*seeds > 1) command += fmt::format(" --seeds {}", *seeds);
    if (base.shift) command += fmt::format(" --shift {}", base.shift);
    if (base.warmup != vkm::nn::kDefaultWarmup)
      command += fmt::format(" --warmup {:g}", base.warmup);
    if (base.label_smoothing > 0)
      command += fmt::format(" --label-smoothing {:g}", base.label_smoothing);
    if (base.no_affine) command += " --no-affine";
    if (base.train_limit) command += fmt::format(" --train-limit {}", base.train_limit);
    if (base.test_limit) command += fmt::format(" --test-limit {}", base.test_limit);
    write_study(folder, models, data.train.images.count, data.test, command);
    if (!base.json) fmt::print("study written to {}/report.md\n", folder.string());
    return 0;
  };
}

}  // namespace vkmnist
