// A training run: folder, checkpoints, resume, reporting.
#include "apps/vkmnist/training_run.hpp"

#include "apps/vkmnist/interrupt.hpp"
#include "apps/vkmnist/run_data.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "apps/vkmnist/model_argument.hpp"
#include "apps/vkmnist/progress.hpp"
#include "apps/vkmnist/run_checks.hpp"
#include "engine/error.hpp"
#include "nn/checkpoint.hpp"
#include "nn/json_error.hpp"
#include "nn/safetensors.hpp"
#include "nn/trainer.hpp"

namespace vkmnist {

namespace fs = std::filesystem;

namespace {

// The first `limit` images (0: all). A limit above the set's size is refused: it would train or
// test on fewer images than asked without a word.
vkm::nn::Dataset limited(vkm::nn::Dataset d, uint32_t limit, const char* flag, const char* set,
                         const std::string& folder) {
  if (limit > d.images.count) {
    throw vkm::Error(fmt::format("{} {}: the {} set in {} holds only {} images", flag, limit, set,
                                 folder, d.images.count));
  }
  if (limit == 0 || limit == d.images.count) return d;
  d.images.count = limit;
  d.images.pixels.resize(size_t{limit} * d.images.rows * d.images.cols);
  d.labels.count = limit;
  d.labels.labels.resize(limit);
  return d;
}

std::string predictions_csv(const vkm::nn::Dataset& test,
                            const std::vector<uint32_t>& predictions) {
  std::string out = "index,label,predicted\n";
  for (size_t i = 0; i < predictions.size(); ++i) {
    out += fmt::format("{},{},{}\n", i, test.labels.labels[i], predictions[i]);
  }
  return out;
}

// Best and final test accuracy, and seconds per training epoch over every epoch in the metrics
// (those of an interrupted run's earlier processes included).
void summarize(RunResult& r) {
  double train_seconds = 0.0;
  uint32_t train_epochs = 0;
  for (const auto& row : r.metrics) {
    if (row.split == "train") {
      train_seconds += row.seconds;
      ++train_epochs;
      continue;
    }
    if (row.accuracy > r.best_test_accuracy) {
      r.best_test_accuracy = row.accuracy;
      r.best_epoch = row.epoch;
    }
    r.final_test_accuracy = row.accuracy;
  }
  r.seconds_per_epoch = train_epochs > 0 ? train_seconds / train_epochs : 0.0;
}

std::string device_line(const std::string& name, const std::string& driver,
                        const std::string& driver_info) {
  return fmt::format("{} ({}, {})", name, driver, driver_info);
}

nlohmann::json read_run_json(const fs::path& folder) {
  try {
    return nlohmann::json::parse(read_file(folder / "run.json"));
  } catch (const nlohmann::json::exception& e) {
    throw vkm::Error(fmt::format("{}: corrupt run.json ({})", (folder / "run.json").string(),
                                 vkm::nn::json_error_text(e)));
  }
}

}  // namespace

uint32_t epochs_completed(const fs::path& checkpoint, const vkm::nn::Metadata& metadata) {
  const auto it = metadata.find("epochs_completed");
  try {
    if (it != metadata.end()) return static_cast<uint32_t>(std::stoul(it->second));
  } catch (const std::exception&) {
  }
  throw vkm::Error(
      fmt::format("{}: no valid epochs_completed in its metadata (not a vkmnist run checkpoint)",
                  checkpoint.string()));
}

std::vector<fs::path> checkpoint_files(const fs::path& folder) {
  return {folder / "optimizer.safetensors", folder / "model.safetensors"};
}

void recover_run_folder(const fs::path& folder) {
  remove_stray_temporaries(folder);
  recover_checkpoint(folder, checkpoint_files(folder));
}

uint32_t epochs_completed(const fs::path& folder) {
  const fs::path checkpoint = folder / "model.safetensors";
  if (!fs::exists(checkpoint)) return 0;
  return epochs_completed(checkpoint, vkm::nn::read_safetensors(checkpoint).metadata);
}

std::vector<MetricsRow> completed_metrics(const fs::path& file, uint32_t epochs) {
  std::vector<MetricsRow> rows;
  for (const auto& row : parse_metrics_csv(file)) {
    if (row.epoch <= epochs) rows.push_back(row);
  }
  for (uint32_t e = 1; e <= epochs; ++e) {
    for (const char* split : {"train", "test"}) {
      const auto n = std::count_if(rows.begin(), rows.end(), [&](const MetricsRow& r) {
        return r.epoch == e && r.split == split;
      });
      if (n != 1) {
        throw vkm::Error(
            fmt::format("{}: {} {} rows for epoch {} (expected one for each of epochs 1 to {})",
                        file.string(), n, split, e, epochs));
      }
    }
  }
  return rows;
}

TrainOptions resumed_options(const TrainOptions& given) {
  const fs::path folder = given.resume;
  const nlohmann::json run = read_run_json(folder);
  if (!run.is_object() || !run.contains("options")) {
    throw vkm::Error(fmt::format("{}: no \"options\" in run.json (not a vkmnist run folder?)",
                                 (folder / "run.json").string()));
  }
  TrainOptions o;
  try {
    o = from_json(run.at("options"));
  } catch (const vkm::Error& e) {
    throw vkm::Error(fmt::format("{}: {}", (folder / "run.json").string(), e.what()));
  }
  // The checkpoint records the options it was trained with: an edited run.json (another norm,
  // learning rate, seed...) would resume a different run from these weights. Refused, naming
  // the options that disagree. (data and init may move: paths, not what the files hold.)
  const fs::path checkpoint = folder / "model.safetensors";
  if (fs::exists(checkpoint)) {
    const auto meta = vkm::nn::read_safetensors(checkpoint).metadata;
    const auto it = meta.find("options");
    nlohmann::json recorded;
    try {
      if (it != meta.end()) recorded = nlohmann::json::parse(it->second);
    } catch (const nlohmann::json::exception&) {
    }
    if (!recorded.is_object()) {
      throw vkm::Error(
          fmt::format("{}: no training options in its metadata (not a vkmnist run "
                      "checkpoint)",
                      checkpoint.string()));
    }
    std::string differ;
    for (const auto& [key, value] : run.at("options").items()) {
      if (key == "data" || key == "init") continue;  // paths: the files may move
      if (!recorded.contains(key) || recorded.at(key) != value) {
        differ +=
            fmt::format("{}{} (run.json {}, checkpoint {})", differ.empty() ? "" : ", ", key,
                        value.dump(), recorded.contains(key) ? recorded.at(key).dump() : "none");
      }
    }
    if (!differ.empty()) {
      throw vkm::Error(fmt::format(
          "{}: run.json and model.safetensors disagree on {}: run.json was edited or the files "
          "come from different runs; restore run.json, or start a new run",
          folder.string(), differ));
    }
  }
  // What may differ between the interrupted run and its continuation: where and how it is shown.
  o.device = given.device;
  o.stop_after = given.stop_after;
  o.quiet = given.quiet;
  o.json = given.json;
  o.resume = folder.string();
  if (given.data_given) {  // checked against run.json's checksums once the files are read
    o.data = fs::absolute(given.data).lexically_normal().string();
    o.data_given = true;
  }
  return o;
}

namespace {

// A new run's folder, made at once (an --out that cannot be made is refused before the pipelines
// are built) and removed again, when still empty, unless keep() is called (run.json written).
class NewRunFolder {
 public:
  // An empty path: nothing to make (a resumed run).
  explicit NewRunFolder(fs::path folder) : folder_(std::move(folder)) {
    if (folder_.empty()) return;
    std::error_code ec;
    made_ = fs::create_directories(folder_, ec);
    if (ec) {
      throw vkm::Error(
          fmt::format("cannot create run folder {}: {}", folder_.string(), ec.message()));
    }
  }
  NewRunFolder(const NewRunFolder&) = delete;
  NewRunFolder& operator=(const NewRunFolder&) = delete;
  ~NewRunFolder() {
    std::error_code ec;
    if (made_) fs::remove(folder_, ec);  // removes an empty folder only
  }
  void keep() { made_ = false; }

 private:
  fs::path folder_;
  bool made_ = false;
};

Data load_data_files(const TrainOptions& o) {
  return {
      limited(vkm::nn::load_mnist(o.data, true), o.train_limit, "--train-limit", "training",
              o.data),
      limited(vkm::nn::load_mnist(o.data, false), o.test_limit, "--test-limit", "test", o.data)};
}

}  // namespace

Data load_data(const TrainOptions& o, bool resumed) {
  try {
    return load_data_files(o);
  } catch (const vkm::nn::MissingDataError& e) {
    throw missing_data_error(e, o.data, resumed && !o.data_given);
  }
}

namespace {

// Thousands separated by commas: 8008 -> "8,008".
std::string grouped(size_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::string summary_table(const vkm::nn::NetConfig& config) {
  // As torchsummary prints it: the batch dimension as -1, parameter counts, and the sizes in MB
  // of one image's input, of every layer's output (forward and its gradient in backward), and of
  // the parameters.
  const std::string rule = std::string(72, '-') + "\n";
  std::string out =
      fmt::format("{:<12} {:<28} {:>20} {:>9}\n", "Layer", "Type", "Output shape", "Param #");
  out += rule;
  size_t outputs = 0;
  for (const auto& r : vkm::nn::seed_net_summary(config)) {
    out += fmt::format("{:<12} {:<28} {:>20} {:>9}\n", r.name, r.type,
                       fmt::format("[-1, {}, {}, {}]", r.output.c, r.output.h, r.output.w),
                       grouped(r.parameters));
    outputs += size_t{r.output.c} * r.output.h * r.output.w;
  }
  const size_t parameters = vkm::nn::seed_net_parameter_count(config);
  out += rule;
  out += fmt::format("Total params: {}\nTrainable params: {}\nNon-trainable params: 0\n",
                     grouped(parameters), grouped(parameters));
  if (config.norm == vkm::nn::NormKind::kBatch) {
    size_t channels = 0;
    for (const auto& spec : vkm::nn::seed_net_blocks()) channels += spec.norm ? spec.c_out : 0;
    out +=
        fmt::format("Buffers (BatchNorm running mean and variance): {}\n", grouped(2 * channels));
  }
  constexpr double kMB = 1024.0 * 1024.0;
  const double input = vkm::nn::kImageSize * vkm::nn::kImageSize * 4.0 / kMB;
  const double passes = 2.0 * double(outputs) * 4.0 / kMB;
  const double params = double(parameters) * 4.0 / kMB;
  out += rule;
  out += fmt::format(
      "Input size (MB): {:.2f}\nForward/backward pass size (MB): {:.2f}\nParams size (MB): "
      "{:.2f}\nEstimated Total Size (MB): {:.2f}\n",
      input, passes, params, input + passes + params);
  out += rule;
  return out;
}

RunResult run_training(vkm::Context& context, vkm::KernelCache& kernels,
                       const TrainOptions& options, const Data& data) {
  const TrainOptions& o = options;
  const bool resuming = !o.resume.empty();
  fs::path folder;
  std::vector<MetricsRow> metrics;
  uint32_t first_epoch = 0;
  if (resuming) folder = o.resume;
  const vkm::nn::TrainConfig config = to_config(o);
  // Everything about the files checked before the device is set up (seconds on a CPU driver).
  if (!resuming) {
    folder = o.out.empty() ? default_run_folder(o.norm) : fs::path(o.out);
    check_new_run_folder(folder);
  }
  if (resuming) {
    recover_run_folder(folder);
    check_resumed_data(folder, read_run_json(folder), o, data_checksums(data.train, data.test));
  }
  // --init takes a run folder (its model.safetensors) or a checkpoint file, as eval does; a
  // resumed run needs it only when it restarts (stopped before its first checkpoint).
  const bool needs_init =
      !o.init.empty() && !(resuming && fs::exists(folder / "model.safetensors"));
  const fs::path init = needs_init ? model_file(o.init) : fs::path();
  if (needs_init) check_init_checkpoint(init, config.net, o.init);
  // Stopped before its first epoch was saved: nothing to resume, so the run starts again from
  // epoch 1 with run.json's options (the same seed and --init: bitwise the same run).
  const bool restart = resuming && !fs::exists(folder / "model.safetensors") &&
                       !fs::exists(folder / "optimizer.safetensors");
  if (resuming && !restart) {
    // The checkpoint pair's epochs and metrics.csv, read before the pipelines are built: a
    // broken or finished run is refused at once.
    first_epoch =
        epochs_completed(folder / "model.safetensors",
                         vkm::nn::read_safetensors(folder / "model.safetensors").metadata);
    const uint32_t optimizer_epoch =
        epochs_completed(folder / "optimizer.safetensors",
                         vkm::nn::read_safetensors(folder / "optimizer.safetensors").metadata);
    if (optimizer_epoch != first_epoch) {
      // The pair is committed together (run_folder.hpp): only an edit or a copy parts them.
      throw vkm::Error(fmt::format(
          "{}: model.safetensors (epoch {}) and optimizer.safetensors (epoch {}) do not belong "
          "together: one was replaced or copied from another run; restore it, or start a new "
          "run",
          folder.string(), first_epoch, optimizer_epoch));
    }
    metrics = completed_metrics(folder / "metrics.csv", first_epoch);
    if (first_epoch >= config.epochs) {
      throw vkm::Error(
          fmt::format("{} already completed all {} epochs", folder.string(), config.epochs));
    }
  }
  // A new run's folder is made now, so that one that cannot be fails at once; until run.json is
  // written, a failure removes it again (when still empty).
  NewRunFolder new_folder(resuming ? fs::path() : folder);

  // Building the pipelines takes seconds on a CPU driver, minutes the first time on a machine
  // (lavapipe compiles every kernel with LLVM; Mesa's disk cache keeps the code for the next
  // start): say so on a terminal rather than sit silent.
  const bool talk = !o.quiet && !o.json && ProgressBar::stderr_is_terminal();
  if (talk) {
    fmt::print(stderr, "building compute pipelines (minutes on a first run)…");
    std::fflush(stderr);
  }
  const auto build_start = std::chrono::steady_clock::now();
  const size_t kernels_before = kernels.size();
  vkm::nn::Trainer trainer(context.device, kernels, config, data.train, data.test);
  if (talk && kernels.size() == kernels_before) {
    fmt::print(stderr, "\r\x1b[K");  // an earlier run of the study or sweep built them all
  } else if (talk) {
    fmt::print(
        stderr, "\r\x1b[Kbuilt {} compute pipelines in {:.1f} s\n", kernels.size() - kernels_before,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count());
  }
  const auto& info = context.device.info();
  const std::string device = device_line(info.name, info.driver_name, info.driver_info);

  if (resuming && !restart) {
    vkm::nn::load_model(folder / "model.safetensors", trainer.model());
    vkm::nn::load_optimizer(folder / "optimizer.safetensors", trainer.model());
  } else {
    if (!init.empty()) vkm::nn::load_model(init, trainer.model());
  }
  if (restart) {
    fs::remove(folder / "metrics.csv");
    fs::remove(folder / "predictions.csv");
    if (!fs::exists(folder / "summary.txt")) {
      write_file_atomically(folder / "summary.txt", summary_table(config.net));
    }
  } else if (!resuming) {
    nlohmann::json run = {{"command", invocation()},
                          {"started", utc_now()},
                          {"options", to_json(o)},
                          {"data_crc32", data_checksums(data.train, data.test)},
                          {"device",
                           {{"name", info.name},
                            {"vendor", info.vendor},
                            {"type", vkm::type_name(info.type)},
                            {"driver", info.driver_name},
                            {"driver_info", info.driver_info},
                            {"api", vkm::version_string(info.api_version)},
                            {"subgroup_size", info.subgroup_size},
                            {"kernels", vkm::kernel_shape_name(context.device.kernel_shape())}}},
                          {"vkmnist_version", VKMNIST_VERSION},
                          {"parameters", trainer.model().parameter_count()},
                          {"steps_per_epoch", trainer.steps_per_epoch()},
                          {"train_images", data.train.images.count},
                          {"test_images", data.test.images.count}};
    write_file_atomically(folder / "run.json", run.dump(2) + "\n");
    new_folder.keep();
    stop_point("run.json", 0);
    write_file_atomically(folder / "summary.txt", summary_table(config.net));
    stop_point("summary", 0);
  }

  set_resume_hint("vkmnist --resume " + shell_quoted(folder.string()));
  if (!o.quiet && !o.json) {
    fmt::print(stderr, "vkmnist: {} on {} — {} parameters, {} steps/epoch, run folder {}\n",
               vkm::nn::norm_long_name(config.net.norm), device, trainer.model().parameter_count(),
               trainer.steps_per_epoch(), folder.string());
  }

  RunResult result;
  result.folder = folder;
  result.device = device;
  result.options = o;
  result.parameters = trainer.model().parameter_count();
  ProgressBar bar(!o.quiet && !o.json);
  const uint32_t last_epoch =
      o.stop_after > 0 ? std::min(o.stop_after, config.epochs) : config.epochs;
  for (uint32_t epoch = first_epoch; epoch < last_epoch; ++epoch) {
    bar.start_epoch(fmt::format("epoch {}/{}", epoch + 1, config.epochs), trainer.steps_per_epoch(),
                    config.batch_size);
    const auto train = trainer.train_epoch(
        epoch, [&](const vkm::nn::EpochProgress& p) { bar.update(p.step, p.loss, p.accuracy); });
    bar.finish();
    const auto test = trainer.evaluate();
    const double penalty = trainer.penalty();
    if (!std::isfinite(penalty)) {  // weights no longer finite: never saved as a completed epoch
      throw vkm::nn::DivergedError(fmt::format(
          "training diverged in epoch {}: the weights are no longer finite (try a lower --lr)",
          epoch + 1));
    }
    const double lr = trainer.learning_rate(epoch, trainer.steps_per_epoch() - 1);
    // The rows as metrics.csv holds them, so that a resumed run reads back the very numbers an
    // uninterrupted one decides by (the best epoch below, sweep and study tables).
    try {
      metrics.push_back(
          as_written({epoch + 1, "train", train.loss, penalty, train.accuracy, lr, train.seconds}));
      metrics.push_back(
          as_written({epoch + 1, "test", test.loss, 0.0, test.accuracy, lr, test.seconds}));
    } catch (const std::invalid_argument&) {
      throw vkm::nn::DivergedError(fmt::format(
          "training diverged in epoch {}: the test loss is no longer finite (try a lower --lr)",
          epoch + 1));
    }
    const double test_accuracy = metrics.back().accuracy;

    // Predictions and metrics first, the model's checkpoint last: its epochs_completed marks the
    // epoch as done. A stop before it re-runs the epoch on --resume (metrics rows past the
    // checkpoint are dropped then), so the files never disagree about a completed epoch.
    const auto meta =
        vkm::nn::model_metadata(config.net, {{"epochs_completed", std::to_string(epoch + 1)},
                                             {"seed", std::to_string(o.seed)},
                                             {"options", to_json(o).dump()},
                                             {"vkmnist_version", VKMNIST_VERSION}});
    write_file_atomically(folder / "predictions.csv",
                          predictions_csv(data.test, trainer.predictions()));
    stop_point("predictions", epoch + 1);
    // The best test epoch so far (the first of equals) also as best.safetensors. A stop before
    // the checkpoint re-runs the epoch, which writes the same file again: runs are deterministic.
    bool best = true;
    for (const auto& row : metrics) {
      if (row.split == "test" && row.epoch != epoch + 1 && row.accuracy >= test_accuracy)
        best = false;
    }
    if (best) {
      auto best_meta = meta;
      best_meta["best_test_accuracy"] = fmt::format("{:.2f}", test_accuracy);
      vkm::nn::save_model(folder / "best.safetensors", trainer.model(), best_meta);
    }
    write_file_atomically(folder / "metrics.csv", metrics_csv(metrics));
    stop_point("metrics", epoch + 1);
    const std::vector<fs::path> checkpoint = checkpoint_files(folder);
    vkm::nn::save_optimizer(next_file(checkpoint[0]), trainer.model(), meta);
    stop_point("optimizer", epoch + 1);
    vkm::nn::save_model(next_file(checkpoint[1]), trainer.model(), meta);
    stop_point("model", epoch + 1);
    commit_checkpoint(folder, checkpoint, epoch + 1);
    stop_point("done", epoch + 1);

    if (o.json) {
      fmt::print("{}\n", nlohmann::json{{"epoch", epoch + 1},
                                        {"epochs", config.epochs},
                                        {"norm", o.norm},
                                        {"train_loss", train.loss},
                                        {"penalty", penalty},
                                        {"train_accuracy", train.accuracy},
                                        {"test_loss", test.loss},
                                        {"test_accuracy", test.accuracy},
                                        {"lr", lr},
                                        {"train_seconds", train.seconds},
                                        {"test_seconds", test.seconds}}
                             .dump());
      std::fflush(stdout);
    } else {
      fmt::print(
          "epoch {:>2}/{} | train loss {:.4f} (+{:.4f} penalty) acc {:6.2f}% | test loss {:.4f} "
          "acc {:6.2f}% | lr {:.2e} | {:.1f}s ({:.0f} img/s)\n",
          epoch + 1, config.epochs, train.loss, penalty, train.accuracy, test.loss, test.accuracy,
          lr, train.seconds, train.samples / std::max(train.seconds, 1e-9));
      std::fflush(stdout);
    }
  }
  if (last_epoch < config.epochs && !o.json) {
    std::fflush(stdout);
    fmt::print(stderr, "vkmnist: stopped after epoch {} of {} (--stop-after); continue with: {}\n",
               last_epoch, config.epochs, resume_command());
  }
  result.metrics = metrics;
  result.predictions = trainer.predictions();
  summarize(result);
  if (last_epoch >= config.epochs) {
    // The run's outcome beside its options: when it finished, the seconds its epochs took
    // (training and evaluation, over every process that ran them) and its results.
    nlohmann::json run = read_run_json(folder);
    double seconds = 0.0;
    for (const MetricsRow& row : metrics) seconds += row.seconds;
    run["finished"] = utc_now();
    run["epoch_seconds"] = std::round(seconds * 1000.0) / 1000.0;
    run["best_test_accuracy"] = result.best_test_accuracy;
    run["best_epoch"] = result.best_epoch;
    run["final_test_accuracy"] = result.final_test_accuracy;
    write_file_atomically(folder / "run.json", run.dump(2) + "\n");
  }
  if (!o.json) {
    fmt::print("best test accuracy {:.2f}% (epoch {}), final {:.2f}% — {}\n",
               result.best_test_accuracy, result.best_epoch, result.final_test_accuracy,
               folder.string());
  }
  return result;
}

RunResult finished_run(const fs::path& folder, const vkm::nn::Dataset& test) {
  const nlohmann::json run = read_run_json(folder);
  if (!run.is_object()) {
    throw vkm::Error(fmt::format("{}: run.json is {}, not an object",
                                 (folder / "run.json").string(), run.type_name()));
  }
  RunResult result;
  result.folder = folder;
  const uint32_t epochs = epochs_completed(folder);
  result.metrics = completed_metrics(folder / "metrics.csv", epochs);
  try {
    result.parameters = run.at("parameters").get<size_t>();
    const auto& d = run.at("device");
    result.device = device_line(d.at("name").get<std::string>(), d.at("driver").get<std::string>(),
                                d.at("driver_info").get<std::string>());
    result.options = from_json(run.at("options"));
  } catch (const nlohmann::json::exception& e) {
    throw vkm::Error(fmt::format("{}: incomplete run.json ({})", (folder / "run.json").string(),
                                 vkm::nn::json_error_text(e)));
  }
  const fs::path file = folder / "predictions.csv";
  std::istringstream in(read_file(file));
  std::string line;
  std::getline(in, line);
  if (line != "index,label,predicted") {
    throw vkm::Error(
        fmt::format("{}: not a vkmnist predictions file (header '{}')", file.string(), line));
  }
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    unsigned index = 0, label = 0, predicted = 0;
    if (std::sscanf(line.c_str(), "%u,%u,%u", &index, &label, &predicted) != 3 ||
        index != result.predictions.size() || index >= test.labels.count ||
        label != test.labels.labels[index]) {
      throw vkm::Error(
          fmt::format("{}: line '{}' does not match the test set being used", file.string(), line));
    }
    result.predictions.push_back(predicted);
  }
  if (result.predictions.size() != test.labels.count) {
    throw vkm::Error(fmt::format("{}: {} predictions for {} test images", file.string(),
                                 result.predictions.size(), test.labels.count));
  }
  summarize(result);
  size_t correct = 0;
  for (size_t i = 0; i < result.predictions.size(); ++i)
    correct += result.predictions[i] == test.labels.labels[i];
  const double accuracy =
      100.0 * static_cast<double>(correct) / static_cast<double>(test.labels.count);
  if (epochs == 0 || std::abs(accuracy - result.final_test_accuracy) > 0.006) {
    throw vkm::Error(fmt::format(
        "{}: predictions.csv scores {:.2f}% but metrics.csv's last epoch {:.2f}%: the files "
        "are from different epochs",
        folder.string(), accuracy, result.final_test_accuracy));
  }
  return result;
}

}  // namespace vkmnist
