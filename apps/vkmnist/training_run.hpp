// One complete training run as the user sees it: data loaded and checked before anything is
// written, the run folder (run.json, summary.txt, metrics.csv, model.safetensors,
// optimizer.safetensors, predictions.csv), --init / --resume, progress, per-epoch lines or JSON.
// `vkmnist train` runs one; `vkmnist compare` runs three.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "apps/vkmnist/run_folder.hpp"
#include "apps/vkmnist/train_options.hpp"
#include "engine/device.hpp"
#include "engine/kernel.hpp"
#include "nn/checkpoint.hpp"
#include "nn/data/idx.hpp"

namespace vkmnist {

struct RunResult {
  std::filesystem::path folder;
  std::vector<MetricsRow> metrics;
  std::vector<uint32_t> predictions;  // final model's class for every test image
  size_t parameters = 0;
  double best_test_accuracy = 0.0;
  uint32_t best_epoch = 0;
  double final_test_accuracy = 0.0;
  double seconds_per_epoch = 0.0;  // training only, mean over every epoch in metrics
  std::string device;
  TrainOptions options;  // what the run trained with (a finished run's: its run.json's)
};

// Loads the train and test sets named by the options (limits applied). Throws vkm::Error
// naming the file and the fault.
struct Data {
  vkm::nn::Dataset train;
  vkm::nn::Dataset test;
};
// resumed: the data folder comes from a run's run.json (--resume), so a missing file is not
// fixed by --data; the message says so.
Data load_data(const TrainOptions& options, bool resumed = false);

// The options of the run in `given.resume` (its run.json), with the display and device choices
// of `given`. run_training expects options resolved this way when resuming.
TrainOptions resumed_options(const TrainOptions& given);

// `kernels` may hold the pipelines of earlier runs in the process (a sweep's, a study's): a run
// whose kernels are already there starts without building them again.
RunResult run_training(vkm::Context& context, vkm::KernelCache& kernels,
                       const TrainOptions& options, const Data& data);

// The checkpoint pair of a run folder, in the order commit_checkpoint replaces them.
std::vector<std::filesystem::path> checkpoint_files(const std::filesystem::path& folder);
// Brings an interrupted run folder to a consistent state: removes stray temporaries, finishes or
// drops an interrupted checkpoint change (run_folder.hpp). Before anything reads it.
void recover_run_folder(const std::filesystem::path& folder);

// Epochs the run in `folder` has completed: its model.safetensors' epochs_completed (0 when
// there is no checkpoint yet). The checkpoint is committed last in an epoch, so this is the
// truth (after recover_run_folder).
uint32_t epochs_completed(const std::filesystem::path& folder);
uint32_t epochs_completed(const std::filesystem::path& checkpoint,
                          const vkm::nn::Metadata& metadata);

// metrics.csv's rows of epochs 1..epochs (later ones, from an epoch whose checkpoint was never
// written, are dropped); throws vkm::Error when one of them is missing or repeated.
std::vector<MetricsRow> completed_metrics(const std::filesystem::path& file, uint32_t epochs);

// The result of the finished run in `folder`, read back from its files (run.json, metrics.csv,
// predictions.csv), for `vkmnist compare --resume`. Throws vkm::Error when a file is missing or
// its predictions are not for `test`.
RunResult finished_run(const std::filesystem::path& folder, const vkm::nn::Dataset& test);

// The layer table of `vkmnist summary` and summary.txt.
std::string summary_table(const vkm::nn::NetConfig& config);

}  // namespace vkmnist
