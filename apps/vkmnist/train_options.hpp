// The training options shared by `vkmnist train` and `vkmnist compare`: their command-line
// flags (with checks and help), their JSON form (run.json, --resume) and the TrainConfig they make.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "nn/trainer.hpp"

namespace vkmnist {

struct TrainOptions {
  std::string norm = "bn";
  uint32_t groups = 4;
  double l1 = 0.0;
  double l2 = 0.0;
  double dropout = 0.05;
  uint32_t epochs = 20;
  uint32_t batch_size = 128;
  double lr = 0.0;  // peak learning rate; 0 until set from the norm's recipe (recipe.hpp)
  double momentum = 0.9;
  std::string schedule = "onecycle";
  double warmup = vkm::nn::kDefaultWarmup;  // onecycle: PyTorch's pct_start
  std::string augment = "rotate";
  uint32_t shift = 0;  // pixels, with augment rotate
  double label_smoothing = 0.0;
  bool no_affine = false;
  uint32_t seed = 1;
  std::string device;
  std::string data = "data/mnist";
  // --data given with --resume: the run continues on these files if they are the ones it was
  // trained on (run.json's checksums); not stored.
  bool data_given = false;
  std::string out;
  std::string init;
  std::string resume;
  bool quiet = false;
  bool json = false;
  uint32_t stop_after = 0;   // stop after this many epochs in total, as if interrupted (0: run all)
  uint32_t train_limit = 0;  // 0: the whole set
  uint32_t test_limit = 0;
};

// with_norm: `train` has --norm and --l1; `compare` sets norm and L1 per model itself. Without
// --batch-size, --lr and --l2 both take each norm's recipe (recipe.hpp).
void add_train_options(CLI::App& command, TrainOptions& options, bool with_norm);

// With --resume: throws vkm::Error naming the first option given that a resumed run would
// ignore (everything but --device, --quiet, --json and --stop-after).
void check_resume_options(const CLI::App& command);

// A new run's data folder and --init file as absolute paths, so that run.json lets the run be
// resumed from any working directory.
void make_paths_absolute(TrainOptions& options);

// Checks the combination and makes the trainer's configuration (throws vkm::Error).
vkm::nn::TrainConfig to_config(const TrainOptions& options);

nlohmann::json to_json(const TrainOptions& options);
TrainOptions from_json(const nlohmann::json& json);

}  // namespace vkmnist
