// `vkmnist eval`: a checkpoint scored on a test set on the device — accuracy, mean loss and the
// confusion matrix — from a run folder or any vkmnist model.safetensors.
#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/vkmnist/cli_checks.hpp"
#include "apps/vkmnist/commands.hpp"
#include "apps/vkmnist/model_argument.hpp"
#include "apps/vkmnist/run_checks.hpp"
#include "apps/vkmnist/run_folder.hpp"
#include "engine/atomic_file.hpp"
#include "engine/device.hpp"
#include "engine/error.hpp"
#include "engine/kernel.hpp"
#include "nn/checkpoint.hpp"
#include "nn/data/idx.hpp"
#include "nn/seed_net.hpp"
#include "nn/trainer.hpp"

namespace vkmnist {
namespace {

namespace fs = std::filesystem;
using Confusion = std::array<std::array<uint32_t, vkm::nn::kClasses>, vkm::nn::kClasses>;

// Rows: the actual digit; columns: the predicted one.
std::string confusion_markdown(const Confusion& c) {
  std::string out = "| actual \\ predicted |";
  for (uint32_t p = 0; p < vkm::nn::kClasses; ++p) out += fmt::format(" {} |", p);
  out += " recall |\n|---|";
  for (uint32_t p = 0; p <= vkm::nn::kClasses; ++p) out += "---:|";
  out += "\n";
  for (uint32_t a = 0; a < vkm::nn::kClasses; ++a) {
    uint32_t total = 0;
    out += fmt::format("| **{}** |", a);
    for (uint32_t p = 0; p < vkm::nn::kClasses; ++p) {
      total += c[a][p];
      out += c[a][p] == 0 && a != p ? " · |" : fmt::format(" {} |", c[a][p]);
    }
    out += total == 0 ? " — |\n" : fmt::format(" {:.2f} % |\n", 100.0 * c[a][a] / total);
  }
  return out;
}

std::string confusion_csv(const Confusion& c) {
  std::string out = "actual";
  for (uint32_t p = 0; p < vkm::nn::kClasses; ++p) out += fmt::format(",predicted_{}", p);
  out += "\n";
  for (uint32_t a = 0; a < vkm::nn::kClasses; ++a) {
    out += std::to_string(a);
    for (uint32_t p = 0; p < vkm::nn::kClasses; ++p) out += fmt::format(",{}", c[a][p]);
    out += "\n";
  }
  return out;
}

}  // namespace

std::function<int()> add_eval_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "eval", "Score a checkpoint on the MNIST test set: accuracy, loss and the confusion matrix");
  struct Options {
    std::string model;
    std::string data = "data/mnist";
    std::string device;
    uint32_t batch_size = 128;
    std::string confusion;
    std::string predictions;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model,
                  "A run folder (its model.safetensors) or a model.safetensors written by vkmnist")
      ->required();
  cmd->add_option("--data", o->data,
                  "Folder with the test set's IDX files, t10k-images-idx3-ubyte and "
                  "t10k-labels-idx1-ubyte, raw or .gz (scripts/fetch-mnist puts MNIST in "
                  "data/mnist; any 28x28 IDX set of 10 classes works, e.g. Fashion-MNIST)")
      ->capture_default_str();
  cmd->add_option("--device", o->device,
                  "Vulkan device: index or name substring (vkmnist devices)");
  cmd->add_option("--batch-size", o->batch_size,
                  "Images per eval batch (the result does not depend on it beyond float rounding)")
      ->check(between(1, 4096))
      ->capture_default_str();
  cmd->add_option(
      "--confusion", o->confusion,
      "Also write the confusion matrix as CSV (rows: actual digit, columns: predicted)");
  cmd->add_option("--predictions", o->predictions,
                  "Also write every test image's prediction as CSV: index,label,predicted (the "
                  "predictions.csv of a run folder)");
  cmd->add_flag("--json", o->json, "One JSON object on stdout instead of the text report");
  cmd->footer(
      "The net (norm, groups, affine) is read from the checkpoint's metadata. BatchNorm uses its "
      "running statistics, as PyTorch's eval() does; nothing is dropped.");
  return [o]() -> int {
    // The checkpoint and the data are checked before the device is touched.
    const fs::path file = model_file(o->model);
    const vkm::nn::TrainConfig config = evaluation_config(file, o->batch_size);
    const vkm::nn::Dataset test = [&] {
      try {
        return vkm::nn::load_mnist(o->data, false);
      } catch (const vkm::nn::MissingDataError& e) {
        throw missing_data_error(e, o->data, false);
      }
    }();
    // The outputs too: a folder that is not there fails now, not after the evaluation.
    for (const std::string& output : {o->confusion, o->predictions}) {
      if (!output.empty()) vkm::check_writable(output);
    }

    vkm::Context context(vkm::ContextOptions{.device = o->device});
    vkm::KernelCache kernels(context.device);
    // The test set stands in for the training set the trainer is built with: nothing trains.
    vkm::nn::Trainer trainer(context.device, kernels, config, test, test);
    vkm::nn::load_model(file, trainer.model());
    const vkm::nn::SplitMetrics m = trainer.evaluate();

    Confusion confusion{};
    const auto& predictions = trainer.predictions();
    for (size_t i = 0; i < predictions.size(); ++i) {
      const uint32_t actual = test.labels.labels[i];
      if (actual >= vkm::nn::kClasses || predictions[i] >= vkm::nn::kClasses) {
        throw vkm::Error(fmt::format("{}: label {} or prediction {} of image {} is not a digit",
                                     o->data, actual, predictions[i], i));
      }
      ++confusion[actual][predictions[i]];
    }
    if (!o->confusion.empty()) write_file_atomically(o->confusion, confusion_csv(confusion));
    if (!o->predictions.empty()) {
      std::string csv = "index,label,predicted\n";
      for (size_t i = 0; i < predictions.size(); ++i) {
        csv += fmt::format("{},{},{}\n", i, test.labels.labels[i], predictions[i]);
      }
      write_file_atomically(o->predictions, csv);
    }

    uint32_t wrong = static_cast<uint32_t>(predictions.size());
    for (uint32_t d = 0; d < vkm::nn::kClasses; ++d) wrong -= confusion[d][d];
    if (o->json) {
      nlohmann::ordered_json j = {{"model", file.string()},
                                  {"norm", vkm::nn::norm_name(config.net.norm)},
                                  {"groups", config.net.groups_text()},
                                  {"affine", config.net.affine},
                                  {"data", o->data},
                                  {"device", context.device.info().name},
                                  {"samples", m.samples},
                                  {"accuracy", m.accuracy},
                                  {"loss", m.loss},
                                  {"wrong", wrong},
                                  {"confusion", confusion}};
      fmt::print("{}\n", j.dump(2));
      return 0;
    }
    fmt::print("model: {} ({}{}, {} parameters)\n", file.string(),
               vkm::nn::norm_long_name(config.net.norm),
               config.net.norm == vkm::nn::NormKind::kGroup
                   ? fmt::format(", {} groups", config.net.groups)
                   : "",
               trainer.model().parameter_count());
    fmt::print("test set: {} ({} images), on {}\n", o->data, m.samples, context.device.info().name);
    fmt::print("accuracy {:.2f} % ({} wrong), mean loss {:.6f}\n\n", m.accuracy, wrong, m.loss);
    fmt::print("{}", confusion_markdown(confusion));
    if (!o->confusion.empty()) fmt::print("\nconfusion matrix: {}\n", o->confusion);
    return 0;
  };
}

}  // namespace vkmnist
