// Trainer: a whole training run on the device. The data sets live on the device; each epoch
// is one pre-recorded Program (gather + augment, forward, loss, backward, update for every
// step) replayed with only the Clock and the permutation rewritten between epochs; loss and
// accuracy accumulate on the device (one slot per step) and are read once per epoch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/device.hpp"
#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "nn/data/device_dataset.hpp"
#include "nn/data/gather_batch.hpp"
#include "nn/data/idx.hpp"
#include "nn/model.hpp"
#include "nn/schedule.hpp"
#include "nn/seed_net.hpp"

namespace vkm::nn {

struct TrainConfig {
  NetConfig net;
  UpdateConfig update;
  uint32_t epochs = 20;
  uint32_t batch_size = 128;
  float lr = 0.05f;  // peak rate for onecycle
  ScheduleKind schedule = ScheduleKind::kOneCycle;
  double warmup = kDefaultWarmup;  // onecycle: fraction of the run rising to the peak
  bool augment = true;             // random rotation ±7° (and shift, below)
  uint32_t shift = 0;  // with augment: random shift of up to this many pixels in x and y
  uint32_t seed = 1;
  // Steps per command buffer: short enough for a GPU watchdog, long enough to amortise submits.
  uint32_t steps_per_chunk = 8;
};

struct SplitMetrics {
  double loss = 0.0;      // mean NLL per sample
  double accuracy = 0.0;  // percent
  double seconds = 0.0;
  uint32_t samples = 0;
};

struct EpochProgress {
  uint32_t step = 0;  // steps finished
  uint32_t steps = 0;
  double loss = 0.0;      // running mean NLL over the finished steps
  double accuracy = 0.0;  // running percent
};

// Throws this (a vkm::Error) when the loss becomes NaN or infinite.
class DivergedError : public Error {
 public:
  using Error::Error;
};

class Trainer {
 public:
  Trainer(Device& device, KernelCache& kernels, const TrainConfig& config, const Dataset& train,
          const Dataset& test);
  ~Trainer();

  Model& model() { return *model_; }
  const TrainConfig& config() const { return config_; }
  uint32_t steps_per_epoch() const { return steps_; }
  float learning_rate(uint32_t epoch, uint32_t step) const {
    return lr_[size_t{epoch} * steps_ + step];
  }

  // Trains epoch `epoch` (0-based); progress after each chunk of steps (read from the device's
  // host-visible loss slots without stalling it).
  SplitMetrics train_epoch(uint32_t epoch,
                           const std::function<void(const EpochProgress&)>& progress = {});
  // Evaluates the test set; predictions() then holds one class per test image.
  SplitMetrics evaluate();
  const std::vector<uint32_t>& predictions() const { return predictions_; }
  // lambda1 * sum |w| + lambda2 / 2 * sum w^2 over all parameters, now.
  double penalty();

  // Device dispatches and barriers of one epoch's program (for vkbench and the README).
  size_t dispatches_per_epoch() const;
  size_t barriers_per_epoch() const;

 private:
  void write_clock(uint32_t epoch);
  void write_permutation(uint32_t epoch);

  Device& device_;
  TrainConfig config_;
  uint32_t steps_ = 0;
  uint32_t train_count_ = 0;
  uint32_t test_count_ = 0;
  std::vector<float> lr_;
  std::unique_ptr<Model> model_;
  DeviceDataset train_data_;
  DeviceDataset test_data_;
  std::unique_ptr<GatherBatch> gather_;
  Buffer clock_;
  Buffer lr_schedule_;
  Buffer permutation_;
  Buffer identity_;
  Buffer train_stats_;
  Buffer test_stats_;
  Buffer test_predictions_;
  std::unique_ptr<Program> train_program_;
  std::unique_ptr<Program> test_program_;
  std::vector<uint32_t> predictions_;
};

// The per-epoch shuffle: a pure function of (seed, epoch) — Fisher-Yates driven by the
// counter-based RNG, so a resumed run sees the same order.
std::vector<uint32_t> epoch_permutation(uint32_t count, uint32_t seed, uint32_t epoch);

}  // namespace vkm::nn
