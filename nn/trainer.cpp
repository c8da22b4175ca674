// Recording the epoch and test programs; running them; reading the metrics back.
#include "nn/trainer.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <numeric>

#include "engine/error.hpp"
#include "nn/clock.hpp"
#include "nn/reference/rng.hpp"

namespace vkm::nn {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <typename T>
void upload_vector(Device& device, const Buffer& buffer, const std::vector<T>& values) {
  device.upload(buffer, std::as_bytes(std::span(values)));
}

// Sums (loss, correct) pairs in slot order: the same order every run.
std::pair<double, double> sum_slots(Device& device, const Buffer& stats, uint32_t slots) {
  std::vector<float> values(size_t{slots} * 2);
  device.download(stats, std::as_writable_bytes(std::span(values)));
  double loss = 0.0, correct = 0.0;
  for (uint32_t i = 0; i < slots; ++i) {
    loss += values[2 * i];
    correct += values[2 * i + 1];
  }
  return {loss, correct};
}

}  // namespace

std::vector<uint32_t> epoch_permutation(uint32_t count, uint32_t seed, uint32_t epoch) {
  std::vector<uint32_t> p(count);
  std::iota(p.begin(), p.end(), 0u);
  for (uint32_t i = count; i > 1; --i) {
    const uint64_t r = reference::rng_u32(seed ^ 0x5eedu, epoch, i);
    const auto j = static_cast<uint32_t>((r * i) >> 32);  // uniform in [0, i)
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

Trainer::Trainer(Device& device, KernelCache& kernels, const TrainConfig& config,
                 const Dataset& train, const Dataset& test)
    : device_(device),
      config_(config),
      train_count_(train.images.count),
      test_count_(test.images.count),
      train_data_(device, train),
      test_data_(device, test) {
  validate(config.net);
  if (config.batch_size == 0) throw Error("the batch size must be at least 1");
  if (config.epochs == 0) throw Error("the number of epochs must be at least 1");
  if (train_count_ == 0 || test_count_ == 0)
    throw Error("the training and test sets must not be empty");
  const uint32_t b = config.batch_size;
  steps_ = (train_count_ + b - 1) / b;
  lr_ = learning_rates(config.schedule, config.lr, config.epochs, steps_, config.warmup);
  model_ = std::make_unique<Model>(device, kernels, config.net, b, config.update);
  model_->initialize(config.seed);
  gather_ = std::make_unique<GatherBatch>(kernels, b, GatherOptions{.max_shift = config.shift});

  clock_ = device.buffer(sizeof(ClockState), "clock");
  lr_schedule_ = device.buffer(lr_.size() * sizeof(float), "lr schedule");
  upload_vector(device, lr_schedule_, lr_);
  permutation_ = device.buffer(size_t{train_count_} * sizeof(uint32_t), "permutation");
  identity_ = device.buffer(size_t{test_count_} * sizeof(uint32_t), "identity");
  std::vector<uint32_t> identity(test_count_);
  std::iota(identity.begin(), identity.end(), 0u);
  upload_vector(device, identity_, identity);
  // Host-visible: the progress bar reads finished steps' slots while the epoch runs.
  train_stats_ =
      device.buffer(size_t{steps_} * 2 * sizeof(float), "train stats", MemoryKind::kReadback);
  const uint32_t test_steps = (test_count_ + b - 1) / b;
  test_stats_ = device.buffer(size_t{test_steps} * 2 * sizeof(float), "test stats");
  test_predictions_ = device.buffer(size_t{test_count_} * sizeof(uint32_t), "test predictions");

  // The epoch: every step's gather and training step, recorded once.
  Graph epoch;
  epoch.fill(train_stats_, 0x7FC00000u);  // NaN: a slot not yet written is not counted by progress
  for (uint32_t s = 0; s < steps_; ++s) {
    const uint32_t n = std::min(b, train_count_ - s * b);
    gather_->record(epoch, train_data_, permutation_, clock_, s * b, n, config.augment,
                    model_->input(), model_->labels());
    model_->record_train_step(epoch, clock_, lr_schedule_, train_stats_, s, n);
    epoch.mark_step();
  }
  train_program_ = std::make_unique<Program>(
      device, epoch, RecordOptions{.steps_per_chunk = config.steps_per_chunk});

  Graph eval;
  for (uint32_t s = 0; s < test_steps; ++s) {
    const uint32_t n = std::min(b, test_count_ - s * b);
    gather_->record(eval, test_data_, identity_, clock_, s * b, n, false, model_->input(),
                    model_->labels());
    model_->record_eval(eval, test_stats_, s, test_predictions_, s * b, n);
  }
  test_program_ = std::make_unique<Program>(device, eval, RecordOptions{});
  // Every kernel compiled now rather than at its first real dispatch (lavapipe compiles there):
  // the caller's "building" message then covers it, not the first epoch's progress.
  for (const Graph* g : {&epoch, &eval}) Program(device, g->compile_run()).run();
}

Trainer::~Trainer() = default;

size_t Trainer::dispatches_per_epoch() const {
  return train_program_->dispatches();
}
size_t Trainer::barriers_per_epoch() const {
  return train_program_->barriers();
}

void Trainer::write_clock(uint32_t epoch) {
  const ClockState clock{.epoch = epoch, .steps_per_epoch = steps_, .seed = config_.seed};
  device_.upload(clock_, std::as_bytes(std::span(&clock, 1)));
}

void Trainer::write_permutation(uint32_t epoch) {
  upload_vector(device_, permutation_, epoch_permutation(train_count_, config_.seed, epoch));
}

SplitMetrics Trainer::train_epoch(uint32_t epoch,
                                  const std::function<void(const EpochProgress&)>& progress) {
  if (epoch >= config_.epochs)
    throw Error(
        fmt::format("epoch {} is past the schedule's {} epochs", epoch + 1, config_.epochs));
  write_clock(epoch);
  write_permutation(epoch);
  const auto start = std::chrono::steady_clock::now();
  const size_t chunks = train_program_->chunks();
  const auto* slots = reinterpret_cast<const float*>(train_stats_.mapped());
  train_program_->run([&](size_t done, size_t) {
    if (!progress) return;
    EpochProgress p{.step = static_cast<uint32_t>(std::min<size_t>(steps_, done * steps_ / chunks)),
                    .steps = steps_};
    double loss = 0.0, correct = 0.0, samples = 0.0;
    for (uint32_t s = 0; s < steps_; ++s) {
      if (std::isnan(slots[2 * s + 1])) continue;  // not written yet
      loss += slots[2 * s];
      correct += slots[2 * s + 1];
      samples += std::min(config_.batch_size, train_count_ - s * config_.batch_size);
    }
    if (samples > 0) {
      p.loss = loss / samples;
      p.accuracy = 100.0 * correct / samples;
    }
    progress(p);
  });
  SplitMetrics m;
  m.seconds = seconds_since(start);
  const auto [loss, correct] = sum_slots(device_, train_stats_, steps_);
  m.samples = train_count_;
  m.loss = loss / train_count_;
  m.accuracy = 100.0 * correct / train_count_;
  if (!std::isfinite(m.loss)) {
    throw DivergedError(fmt::format(
        "training diverged in epoch {}: the loss is {} (try a lower learning rate, or the onecycle "
        "schedule)",
        epoch + 1, m.loss));
  }
  // Divergence without NaN: a mean loss far above a uniform guess's (ln 10 for ten classes) is no
  // longer learning (lr 1e6 reaches 1e14 and 8 % accuracy, all finite).
  const double uniform = std::log(static_cast<double>(kClasses));
  if (m.loss > 2.0 * uniform) {
    throw DivergedError(
        fmt::format("training diverged in epoch {}: the mean training loss is {:.4g}, more than "
                    "twice a uniform "
                    "guess's ln {} = {:.2f} (try a lower learning rate)",
                    epoch + 1, m.loss, kClasses, uniform));
  }
  return m;
}

SplitMetrics Trainer::evaluate() {
  const auto start = std::chrono::steady_clock::now();
  test_program_->run();
  SplitMetrics m;
  m.seconds = seconds_since(start);
  const uint32_t b = config_.batch_size;
  const auto [loss, correct] = sum_slots(device_, test_stats_, (test_count_ + b - 1) / b);
  m.samples = test_count_;
  m.loss = loss / test_count_;
  m.accuracy = 100.0 * correct / test_count_;
  predictions_.resize(test_count_);
  device_.download(test_predictions_, std::as_writable_bytes(std::span(predictions_)));
  return m;
}

double Trainer::penalty() {
  double l1 = 0.0, l2 = 0.0;
  for (Parameter* p : model_->parameters()) {
    for (float w : p->value.download()) {
      l1 += std::abs(w);
      l2 += double{w} * w;
    }
  }
  return config_.update.l1 * l1 + config_.update.l2 / 2.0 * l2;
}

}  // namespace vkm::nn
