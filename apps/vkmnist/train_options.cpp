// Training flags, their validation and their JSON form.
#include "apps/vkmnist/train_options.hpp"

#include <fmt/format.h>
#include <filesystem>

#include <cmath>
#include <limits>

#include <set>
#include <stdexcept>

#include "apps/vkmnist/cli_checks.hpp"
#include "apps/vkmnist/recipe.hpp"
#include "engine/error.hpp"
#include "nn/data/gather_batch.hpp"

namespace vkmnist {

void add_train_options(CLI::App& c, TrainOptions& o, bool with_norm) {
  if (with_norm) {
    c.add_option("--norm", o.norm,
                 "Normalization after each conv: bn (BatchNorm), ln (LayerNorm), gn (GroupNorm), "
                 "in (InstanceNorm: one group per channel)")
        ->transform(CLI::IsMember({"bn", "ln", "gn", "in"}, CLI::ignore_case))
        ->capture_default_str();
    c.add_option("--l1", o.l1,
                 "L1 penalty λ₁: adds λ₁·Σ|w| over all parameters to the loss (the study uses 1e-5 "
                 "with bn)")
        ->check(non_negative())
        ->capture_default_str();
  }
  c.add_option("--groups", o.groups,
               "GroupNorm's group count G; must divide 8, 16 and 32: 1, 2, 4 or 8")
      ->capture_default_str();
  c.add_option("--l2", o.l2,
               "L2 weight decay λ₂: adds λ₂·w to each gradient, as PyTorch's SGD does [default: " +
                   recipe_help(&Recipe::l2) + "]")
      ->check(non_negative());
  c.add_option("--dropout", o.dropout, "Dropout probability after the norm of blocks 3-8")
      ->check(between(0.0, 0.99))
      ->capture_default_str();
  c.add_option("--epochs", o.epochs, "Epochs to train")
      ->check(between(1, 100000))
      ->capture_default_str();
  c.add_option("--batch-size", o.batch_size,
               std::string("Images per step (the last partial batch is trained too) [default: ") +
                   (with_norm ? recipe_help(&Recipe::batch_size)
                              : "each norm's, as `vkmnist train` has it") +
                   "]")
      ->check(between(1, 60000));
  if (with_norm) {
    c.add_option("--lr", o.lr,
                 "Peak learning rate of the schedule [default at batch 128: " +
                     recipe_help(&Recipe::lr) + "; scaled linearly with --batch-size]")
        ->check(positive());
  } else {
    c.add_option("--lr", o.lr,
                 "Peak learning rate of the schedule for every model [default: each norm's, "
                 "as `vkmnist train` has it]")
        ->check(positive());
  }
  c.add_option("--momentum", o.momentum, "SGD momentum")
      ->check(between(0.0, 0.999))
      ->capture_default_str();
  c.add_option("--schedule", o.schedule,
               "Learning-rate schedule: onecycle, step (×0.1 every third of the run), constant")
      ->check(CLI::IsMember({"onecycle", "step", "constant"}))
      ->capture_default_str();
  c.add_option("--warmup", o.warmup,
               "With --schedule onecycle: the fraction of the run spent rising to the peak rate "
               "(PyTorch's pct_start)")
      ->check(between(0.0, 1.0))
      ->capture_default_str();
  c.add_option("--augment", o.augment,
               "Training augmentation: rotate (random ±7°, on the device) or none")
      ->check(CLI::IsMember({"rotate", "none"}))
      ->capture_default_str();
  c.add_option("--shift", o.shift,
               "With --augment rotate: also move each training image by a random whole number "
               "of pixels, up to this many in x and in y")
      ->check(between(0, vkm::nn::GatherBatch::kMaxShift))
      ->capture_default_str();
  c.add_option("--label-smoothing", o.label_smoothing,
               "Train on the cross-entropy against (1 - s)·onehot + s/10 instead of the NLL "
               "(PyTorch's label_smoothing); the reported losses stay the plain NLL")
      ->check(between(0.0, 1.0))
      ->capture_default_str();
  c.add_flag("--no-affine", o.no_affine,
             "Norms without scale and shift (7,784 parameters instead of 8,008)");
  c.add_option("--seed", o.seed, "Seed of initialisation, shuffling, dropout and augmentation")
      ->capture_default_str();
  c.add_option("--device", o.device,
               "Vulkan device: index or name substring (see `vkmnist devices`); default: discrete "
               "> integrated > CPU");
  c.add_option("--data", o.data,
               "Folder with the MNIST IDX files (scripts/fetch-mnist puts them in data/mnist)")
      ->capture_default_str();
  c.add_option("--out", o.out,
               with_norm ? "Run folder for metrics.csv, model.safetensors, ... (default "
                           "runs/<norm>-<date>-<time>)"
                         : "Study folder: a run folder per model, figures and report.md (default "
                           "runs/compare-<date>-<time>)")
      ->check(CLI::Validator(
          [](const std::string& s) {
            return s.empty() ? std::string("must name a folder, not be empty") : std::string();
          },
          "FOLDER"));
  c.add_option("--train-limit", o.train_limit,
               "Train on the first N training images only (quick runs; 0, the default: all)");
  c.add_option("--test-limit", o.test_limit,
               "Evaluate on the first N test images only (quick runs; 0, the default: all)");
  c.add_option(
      "--stop-after", o.stop_after,
      "Stop after this many epochs (of --epochs), as if interrupted; continue later with --resume");
  c.add_flag("--quiet", o.quiet, "One line per epoch, no progress bar");
  c.add_flag("--json", o.json, "One JSON object per epoch on stdout, nothing else");
}

void check_resume_options(const CLI::App& command) {
  static const std::set<std::string> kept_apart = {"--resume",     "--device", "--quiet", "--json",
                                                   "--stop-after", "--data",   "--help"};
  for (const CLI::Option* option : command.get_options()) {
    const std::string name = option->get_name();
    if (option->count() == 0 || kept_apart.contains(name)) continue;
    throw vkm::Error(
        fmt::format("{} cannot be given with --resume: a resumed run keeps the options in its "
                    "run.json (only --device, --quiet, --json, --stop-after and --data, "
                    "holding the same files, may change)",
                    name));
  }
}

void make_paths_absolute(TrainOptions& o) {
  namespace fs = std::filesystem;
  if (!o.data.empty()) o.data = fs::absolute(o.data).lexically_normal().string();
  if (!o.init.empty()) o.init = fs::absolute(o.init).lexically_normal().string();
}

vkm::nn::TrainConfig to_config(const TrainOptions& o) {
  vkm::nn::TrainConfig c;
  try {
    c.net.norm = vkm::nn::parse_norm(o.norm);
    c.schedule = vkm::nn::parse_schedule(o.schedule);
    c.net.groups = o.groups;
    c.net.affine = !o.no_affine;
    c.net.dropout = static_cast<float>(o.dropout);
    vkm::nn::validate(c.net);
  } catch (const vkm::nn::InvalidNetConfig& e) {
    // The library names the field; its option is --<field>.
    throw vkm::Error(fmt::format("--{} {}", e.field(), e.what()));
  } catch (const std::invalid_argument& e) {
    throw vkm::Error(e.what());
  }
  // The device computes in float: a value that is NaN, infinite, or finite only as a double
  // (1e39) would train a whole epoch before diverging. Refused here, before data or device.
  const auto check = [](const char* flag, double v, bool positive) {
    const bool finite = std::isfinite(v) && std::abs(v) <= std::numeric_limits<float>::max();
    if (!finite || !(positive ? v > 0 : v >= 0)) {
      throw vkm::Error(
          fmt::format("{} {}: must be a finite number {} 0 (and at most {:g}, the "
                      "largest float)",
                      flag, v, positive ? ">" : ">=", double{std::numeric_limits<float>::max()}));
    }
  };
  check("--l1", o.l1, false);
  check("--l2", o.l2, false);
  check("--lr", o.lr, true);
  check("--momentum", o.momentum, false);
  if (o.batch_size == 0) throw vkm::Error("--batch-size must be at least 1");
  if (o.epochs == 0) throw vkm::Error("--epochs must be at least 1");
  // Options that would do nothing: refused rather than silently ignored.
  if (o.stop_after > o.epochs) {
    throw vkm::Error(fmt::format(
        "--stop-after {}: the run has only {} epochs (--epochs), so it would never stop there",
        o.stop_after, o.epochs));
  }
  if (o.quiet && o.json) {
    throw vkm::Error(
        "--quiet and --json: choose one (--json prints one JSON object per epoch and nothing "
        "else)");
  }
  if (!(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0)) {
    throw vkm::Error(fmt::format("--label-smoothing {}: must lie in [0, 1]", o.label_smoothing));
  }
  c.update = {.momentum = static_cast<float>(o.momentum),
              .l2 = static_cast<float>(o.l2),
              .l1 = static_cast<float>(o.l1),
              .label_smoothing = static_cast<float>(o.label_smoothing)};
  c.epochs = o.epochs;
  c.batch_size = o.batch_size;
  c.lr = static_cast<float>(o.lr);
  if (!(o.warmup > 0.0 && o.warmup < 1.0)) {
    throw vkm::Error(fmt::format(
        "--warmup {}: must be a fraction of the run between 0 and 1, both excluded", o.warmup));
  }
  if (o.warmup != vkm::nn::kDefaultWarmup && o.schedule != "onecycle") {
    throw vkm::Error(
        "--warmup is part of the onecycle schedule: drop it, or use --schedule onecycle");
  }
  c.warmup = o.warmup;
  if (o.shift > 0 && o.augment != "rotate") {
    throw vkm::Error(
        "--shift is part of the rotate augmentation: drop it, or use --augment rotate");
  }
  c.augment = o.augment == "rotate";
  c.shift = o.shift;
  c.seed = o.seed;
  return c;
}

nlohmann::json to_json(const TrainOptions& o) {
  return {{"norm", o.norm},
          {"groups", o.groups},
          {"l1", o.l1},
          {"l2", o.l2},
          {"dropout", o.dropout},
          {"epochs", o.epochs},
          {"batch_size", o.batch_size},
          {"lr", o.lr},
          {"momentum", o.momentum},
          {"schedule", o.schedule},
          {"warmup", o.warmup},
          {"augment", o.augment},
          {"shift", o.shift},
          {"label_smoothing", o.label_smoothing},
          {"affine", !o.no_affine},
          {"seed", o.seed},
          {"data", o.data},
          {"train_limit", o.train_limit},
          {"test_limit", o.test_limit},
          {"init", o.init}};
}

namespace {

// A run.json count: a whole number that fits in 32 bits, never a float truncated or a negative
// number wrapped (nlohmann's get<uint32_t>() does both, and is undefined past the range).
uint32_t whole_number(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX) {
    throw vkm::Error(
        fmt::format("\"{}\" is {}, not a whole number from 0 to {}", key, v.dump(), UINT32_MAX));
  }
  return static_cast<uint32_t>(v.get<uint64_t>());
}

// A run.json real number: finite.
double real_number(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) {
    throw vkm::Error(fmt::format("\"{}\" is {}, not a finite number", key, v.dump()));
  }
  return v.get<double>();
}

}  // namespace

TrainOptions from_json(const nlohmann::json& j) {
  TrainOptions o;
  if (!j.is_object()) {
    throw vkm::Error(fmt::format("\"options\" is {}, not an object", j.type_name()));
  }
  try {
    o.norm = j.at("norm").get<std::string>();
    o.groups = whole_number(j, "groups");
    o.l1 = real_number(j, "l1");
    o.l2 = real_number(j, "l2");
    o.dropout = real_number(j, "dropout");
    o.epochs = whole_number(j, "epochs");
    o.batch_size = whole_number(j, "batch_size");
    o.lr = real_number(j, "lr");
    o.momentum = real_number(j, "momentum");
    o.schedule = j.at("schedule").get<std::string>();
    // Absent in runs before it could be chosen: PyTorch's default, the only one then.
    o.warmup = j.contains("warmup") ? real_number(j, "warmup") : vkm::nn::kDefaultWarmup;
    o.augment = j.at("augment").get<std::string>();
    // Absent in runs before the shift existed: no shift.
    o.shift = j.contains("shift") ? whole_number(j, "shift") : 0;
    // Absent in runs before label smoothing existed: none.
    o.label_smoothing = j.contains("label_smoothing") ? real_number(j, "label_smoothing") : 0.0;
    o.no_affine = !j.at("affine").get<bool>();
    o.seed = whole_number(j, "seed");
    o.data = j.at("data").get<std::string>();
    o.train_limit = whole_number(j, "train_limit");
    o.test_limit = whole_number(j, "test_limit");
    // Absent in runs before it was recorded; a restart before the first checkpoint needs it.
    o.init = j.value("init", std::string());
  } catch (const nlohmann::json::exception& e) {
    throw vkm::Error(fmt::format("incomplete or corrupt options ({})", e.what()));
  }
  return o;
}

}  // namespace vkmnist
