// `vkmnist sweep`: a grid of ordinary runs over norm × L1 × L2 × batch size × seed, tabulated
// with the spread over seeds (sweep_table.hpp). Each run is a normal run folder; an interrupted
// sweep continues where it stopped with --resume (finished runs are read back).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "apps/vkmnist/cli_checks.hpp"
#include "apps/vkmnist/commands.hpp"
#include "apps/vkmnist/interrupt.hpp"
#include "apps/vkmnist/recipe.hpp"
#include "apps/vkmnist/run_folder.hpp"
#include "apps/vkmnist/sweep_table.hpp"
#include "apps/vkmnist/training_run.hpp"
#include "engine/error.hpp"
#include "engine/kernel.hpp"
#include "nn/json_error.hpp"
#include "nn/seed_net.hpp"

namespace vkmnist {
namespace {

namespace fs = std::filesystem;

// The grid, as given (and kept in sweep.json for --resume).
struct Grid {
  std::vector<std::string> norms{"bn", "gn", "ln"};
  std::vector<double> l1{0.0};
  std::vector<double> l2{0.0};
  std::vector<uint32_t> batch_sizes{128};
  uint32_t seeds = 3;
  double lr = 0.0;  // 0: each norm's default, scaled linearly with the batch size (128: 1x)
};

nlohmann::json grid_json(const Grid& g, const TrainOptions& base) {
  return {{"sweep",
           {{"norms", g.norms},
            {"l1", g.l1},
            {"l2", g.l2},
            {"batch_sizes", g.batch_sizes},
            {"seeds", g.seeds},
            {"lr", g.lr}}},
          {"options", to_json(base)}};
}

// sweep.json back into the grid and the base options; throws vkm::Error naming the fault.
std::pair<Grid, TrainOptions> read_grid(const fs::path& folder) {
  const fs::path file = folder / "sweep.json";
  if (!fs::exists(file)) {
    throw vkm::Error(fmt::format("{} holds no sweep to resume (no sweep.json)", folder.string()));
  }
  try {
    const nlohmann::json j = nlohmann::json::parse(read_file(file));
    const nlohmann::json& s = j.at("sweep");
    Grid g;
    g.norms = s.at("norms").get<std::vector<std::string>>();
    g.l1 = s.at("l1").get<std::vector<double>>();
    g.l2 = s.at("l2").get<std::vector<double>>();
    g.batch_sizes = s.at("batch_sizes").get<std::vector<uint32_t>>();
    g.seeds = s.at("seeds").get<uint32_t>();
    g.lr = s.at("lr").get<double>();
    return {g, from_json(j.at("options"))};
  } catch (const nlohmann::json::exception& e) {
    throw vkm::Error(fmt::format("{}: not a sweep description vkmnist can read ({})", file.string(),
                                 vkm::nn::json_error_text(e)));
  }
}

template <typename T>
void unique_in_order(std::vector<T>& values) {
  std::vector<T> out;
  for (const T& v : values) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  values = std::move(out);
}

// Seconds per epoch measured so far, per batch size (smaller batches take more steps per epoch):
// the time left is each remaining epoch at its batch size's pace, or, for a batch size not yet
// trained, at the pace of the nearest one measured (an underestimate for a smaller batch until
// one of its runs has trained). 0: nothing measured yet.
class Pace {
 public:
  void add(uint32_t batch, uint32_t epochs, double seconds) {
    if (epochs == 0) return;
    auto& [total_seconds, total_epochs] = measured_[batch];
    total_seconds += seconds;
    total_epochs += epochs;
  }
  double seconds_for(const std::vector<std::pair<uint32_t, uint32_t>>& batch_epochs) const {
    if (measured_.empty()) return 0.0;
    double total = 0.0;
    for (const auto& [batch, epochs] : batch_epochs) total += epoch_seconds(batch) * epochs;
    return total;
  }

 private:
  double epoch_seconds(uint32_t batch) const {
    if (auto it = measured_.find(batch); it != measured_.end()) {
      return it->second.first / it->second.second;
    }
    const auto nearest =
        std::min_element(measured_.begin(), measured_.end(), [batch](const auto& a, const auto& b) {
          return std::abs(std::log(double(a.first) / batch)) <
                 std::abs(std::log(double(b.first) / batch));
        });
    return nearest->second.first / nearest->second.second;
  }
  std::map<uint32_t, std::pair<double, uint32_t>> measured_;  // batch: seconds, epochs
};

std::string minutes(double seconds) {
  if (seconds < 90) return fmt::format("{:.0f} s", seconds);
  if (seconds < 5400) return fmt::format("{:.0f} min", seconds / 60);
  return fmt::format("{:.1f} h", seconds / 3600);
}

}  // namespace

std::function<int()> add_sweep_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "sweep", "A grid of runs over norm x L1 x L2 x batch size x seed, with error bars");
  cmd->footer(
      "Every combination of the listed values is a variant, trained once per seed (seeds "
      "--seed, --seed + 1, ...). The learning rate scales linearly with the batch size from each "
      "norm's default at 128 (" +
      recipe_help(&Recipe::lr) +
      ") unless --lr is given.\n"
      "Writes into --out (default runs/sweep-<date>-<time>): one run folder per variant and seed "
      "(<norm>_l1-<l1>_l2-<l2>_b<batch>/seed-<seed>/), then sweep.csv, sweep.md (the table: best "
      "and final test accuracy, mean ± standard deviation over the seeds, and the epoch of each "
      "seed's best) and sweep.png (best test accuracy against batch size, one line per norm).\n"
      "An interrupted sweep continues with --resume FOLDER: finished runs are read back, an "
      "unfinished one resumes from its last epoch.\n"
      "Example:\n  vkmnist sweep --norm bn,gn,ln --l1 0,1e-4 --batch-size 16,32,64,128 --seeds 3 "
      "--epochs 15 --out runs/sweep");
  auto grid = std::make_shared<Grid>();
  auto o = std::make_shared<TrainOptions>();
  add_train_options(*cmd, *o, false);
  cmd->remove_option(cmd->get_option("--l2"));
  cmd->remove_option(cmd->get_option("--batch-size"));
  cmd->remove_option(cmd->get_option("--lr"));
  cmd->get_option("--out")->description(
      "Sweep folder: a run folder per variant and seed, sweep.csv, sweep.md, sweep.png (default "
      "runs/sweep-<date>-<time>)");
  cmd->get_option("--stop-after")
      ->description(
          "Stop the next run to train after this many epochs (of --epochs), as if "
          "interrupted, and the sweep with it; continue later with --resume");
  cmd->add_option("--norm", grid->norms, "Norms, comma-separated: bn, ln, gn, in")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--l1", grid->l1, "L1 penalties λ₁, comma-separated")
      ->delimiter(',')
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--l2", grid->l2, "L2 penalties (weight decay), comma-separated")
      ->delimiter(',')
      ->check(non_negative())
      ->capture_default_str();
  cmd->add_option("--batch-size", grid->batch_sizes, "Batch sizes, comma-separated")
      ->delimiter(',')
      ->check(between(1, 60000))
      ->capture_default_str();
  cmd->add_option("--seeds", grid->seeds, "Runs per variant (seeds --seed, --seed + 1, ...)")
      ->check(between(1, 1000))
      ->capture_default_str();
  cmd->add_option("--lr", grid->lr,
                  "Peak learning rate for every run (default: each norm's, times batch / 128)")
      ->check(positive());
  cmd->add_option("--resume", o->resume,
                  "Continue the sweep in this folder (its options are kept)");
  return [grid, o, cmd]() -> int {
    const bool resuming = !o->resume.empty();
    if (resuming) check_resume_options(*cmd);
    const fs::path folder = resuming         ? fs::path(o->resume)
                            : o->out.empty() ? default_run_folder("sweep")
                                             : fs::path(o->out);
    Grid g = *grid;
    TrainOptions base = *o;
    if (resuming) {
      std::tie(g, base) = read_grid(folder);
      base.device = o->device;
      base.quiet = o->quiet;
      base.json = o->json;
      base.stop_after = o->stop_after;
      if (cmd->count("--data") > 0) {  // each resumed run checks it holds its data
        base.data = fs::absolute(o->data).lexically_normal().string();
        base.data_given = true;
      }
    } else if (fs::exists(folder / "sweep.json")) {
      throw vkm::Error(fmt::format(
          "{} already holds a sweep: continue it with --resume {}, or choose another --out",
          folder.string(), folder.string()));
    }
    if (fs::exists(folder / "sweep.md")) {
      throw vkm::Error(fmt::format("{} already holds a finished sweep (sweep.md){}",
                                   folder.string(), resuming ? "" : ": choose another --out"));
    }
    if (g.norms.empty() || g.l1.empty() || g.l2.empty() || g.batch_sizes.empty()) {
      throw vkm::Error("sweep: every list (--norm, --l1, --l2, --batch-size) needs a value");
    }
    // A value given twice is one variant, not two folders' worth of the same runs.
    for (std::string& n : g.norms) n = vkm::nn::norm_name(vkm::nn::parse_norm(n));
    unique_in_order(g.norms);
    unique_in_order(g.l1);
    unique_in_order(g.l2);
    unique_in_order(g.batch_sizes);
    base.resume.clear();
    base.out.clear();
    if (!resuming) make_paths_absolute(base);

    // Every run's options, checked before anything is written or trained.
    struct Plan {
      size_t variant;
      TrainOptions options;
    };
    std::vector<SweepVariant> variants;
    std::vector<Plan> plans;
    for (const std::string& norm : g.norms) {
      for (double l1 : g.l1) {
        for (double l2 : g.l2) {
          for (uint32_t batch : g.batch_sizes) {
            SweepVariant v{norm, l1, l2, batch, g.lr > 0 ? g.lr : default_lr(norm, batch), {}};
            for (uint32_t k = 0; k < g.seeds; ++k) {
              TrainOptions run = base;
              run.norm = norm;
              run.l1 = l1;
              run.l2 = l2;
              run.batch_size = batch;
              run.lr = v.lr;
              run.seed = base.seed + k;
              run.out = (folder / v.name() / fmt::format("seed-{}", run.seed)).string();
              to_config(run);
              plans.push_back({variants.size(), run});
            }
            variants.push_back(std::move(v));
          }
        }
      }
    }
    const Data data = load_data(base, resuming);
    if (!resuming) {
      fs::create_directories(folder);
      write_file_atomically(folder / "sweep.json", grid_json(g, base).dump(2) + "\n");
    }
    set_resume_hint("vkmnist sweep --resume " + shell_quoted(folder.string()), /*outer=*/true);

    vkm::Context context(vkm::ContextOptions{.device = base.device});
    // One cache for every run: the seeds of a variant (and variants alike in a layer) share
    // their pipelines, built once.
    vkm::KernelCache kernels(context.device);
    const bool talk = !base.json;
    Pace pace;
    // Epochs each run had when the sweep started (a resumed sweep's finished runs need none), for
    // the estimate of the time left only: a folder that cannot be read counts as not started.
    std::vector<uint32_t> before(plans.size(), 0);
    for (size_t j = 0; j < plans.size(); ++j) {
      try {
        if (fs::exists(fs::path(plans[j].options.out) / "model.safetensors")) {
          before[j] = epochs_completed(plans[j].options.out);
        }
      } catch (const std::exception&) {
      }
    }
    bool finished = true;
    for (size_t i = 0; i < plans.size(); ++i) {
      Plan& plan = plans[i];
      SweepVariant& variant = variants[plan.variant];
      const fs::path sub = plan.options.out;
      uint32_t done = 0;
      if (fs::exists(sub)) {
        recover_run_folder(sub);
        done = epochs_completed(sub);
      }
      const std::string what =
          fmt::format("[{}/{}] {} seed {}", i + 1, plans.size(), variant.name(), plan.options.seed);
      std::optional<RunResult> result;
      if (done >= base.epochs) {
        result = finished_run(sub, data.test);
        if (talk) fmt::print("{}: all {} epochs done, read back\n", what, base.epochs);
      } else {
        TrainOptions run = plan.options;
        if (done > 0) {
          TrainOptions given = run;
          given.resume = sub.string();
          run = resumed_options(given);
          completed_metrics(sub / "metrics.csv", done);
        } else if (fs::exists(sub)) {
          // Stopped before its first epoch's checkpoint: what it wrote is started again.
          for (const char* file : {"run.json", "summary.txt", "metrics.csv", "predictions.csv",
                                   "optimizer.safetensors"}) {
            fs::remove(sub / file);
          }
        }
        if (talk) {
          // This run's epochs still to train, and every later run's.
          std::vector<std::pair<uint32_t, uint32_t>> left = {
              {plan.options.batch_size, base.epochs - done}};
          for (size_t j = i + 1; j < plans.size(); ++j) {
            left.push_back(
                {plans[j].options.batch_size, base.epochs - std::min(base.epochs, before[j])});
          }
          const double seconds = pace.seconds_for(left);
          fmt::print(
              "{}: training{}{}\n", what, done > 0 ? fmt::format(" from epoch {}", done + 1) : "",
              seconds > 0 ? fmt::format(" (about {} left for the sweep)", minutes(seconds)) : "");
        }
        const auto start = std::chrono::steady_clock::now();
        result = run_training(context, kernels, run, data);
        const uint32_t trained_epochs =
            result->metrics.empty() ? 0 : result->metrics.back().epoch - done;
        pace.add(plan.options.batch_size, trained_epochs,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        if (result->metrics.empty() || result->metrics.back().epoch < base.epochs) {
          finished = false;
          break;
        }
      }
      variant.runs.push_back({plan.options.seed, result->best_test_accuracy, result->best_epoch,
                              result->final_test_accuracy, result->seconds_per_epoch});
    }
    if (!finished) {
      if (talk) {
        fmt::print("sweep stopped early: continue with vkmnist sweep --resume {}\n",
                   shell_quoted(folder.string()));
      }
      return 0;
    }
    std::string command = fmt::format(
        "vkmnist sweep --norm {} --l1 {} --l2 {} --batch-size {} --seeds {} --epochs {} "
        "--momentum {:g} --schedule {} --augment {} --dropout {:g} --groups {} --seed {}",
        fmt::join(g.norms, ","), fmt::join(g.l1, ","), fmt::join(g.l2, ","),
        fmt::join(g.batch_sizes, ","), g.seeds, base.epochs, base.momentum, base.schedule,
        base.augment, base.dropout, base.groups, base.seed);
    if (g.lr > 0) command += fmt::format(" --lr {:g}", g.lr);
    if (base.shift) command += fmt::format(" --shift {}", base.shift);
    if (base.warmup != vkm::nn::kDefaultWarmup)
      command += fmt::format(" --warmup {:g}", base.warmup);
    if (base.label_smoothing > 0)
      command += fmt::format(" --label-smoothing {:g}", base.label_smoothing);
    if (base.no_affine) command += " --no-affine";
    if (base.train_limit) command += fmt::format(" --train-limit {}", base.train_limit);
    if (base.test_limit) command += fmt::format(" --test-limit {}", base.test_limit);
    std::string data_note = fmt::format("Data: {} training and {} test images.",
                                        data.train.images.count, data.test.images.count);
    if (base.train_limit || base.test_limit) {
      data_note += " **A subset: these figures are not the full study's.**";
    }
    write_sweep(folder, variants, command, data_note);
    if (talk) fmt::print("sweep written to {}/sweep.md\n", folder.string());
    return 0;
  };
}

}  // namespace vkmnist
