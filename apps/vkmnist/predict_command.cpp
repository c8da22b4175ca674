// `vkmnist predict`: the class and the ten probabilities of digit images (PNG), by a checkpoint.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/vkmnist/commands.hpp"
#include "apps/vkmnist/digit_image.hpp"
#include "apps/vkmnist/model_argument.hpp"
#include "apps/vkmnist/run_folder.hpp"
#include "engine/atomic_file.hpp"
#include "engine/device.hpp"
#include "engine/error.hpp"
#include "engine/kernel.hpp"
#include "nn/checkpoint.hpp"
#include "nn/seed_net.hpp"
#include "nn/trainer.hpp"

namespace vkmnist {
namespace {

namespace fs = std::filesystem;
constexpr uint32_t kMaxImages = 1024;

struct Prediction {
  std::string file;
  uint32_t predicted = 0;
  std::vector<double> probabilities;  // [10]
  DigitPreparation preparation;
};

}  // namespace

std::function<int()> add_predict_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "predict", "Classify digit images (PNG) with a checkpoint: class and the ten probabilities");
  struct Options {
    std::string model;
    std::vector<std::string> images;
    std::string out;
    std::string device;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model,
                  "A run folder (its model.safetensors) or a model.safetensors written by vkmnist")
      ->required();
  cmd->add_option("images", o->images, "PNG files, one digit each (at most 1024)");
  cmd->add_option("--out", o->out, "Also write predictions.csv here: file, predicted, then p0..p9");
  cmd->add_option("--device", o->device,
                  "Vulkan device: index or name substring (vkmnist devices)");
  cmd->add_flag("--json", o->json, "One JSON object on stdout instead of the table");
  cmd->footer(
      "Each image is made MNIST-like before it is classified, as the MNIST digits were made: any "
      "PNG (grey or colour, any size, with or without transparency, which counts as white paper) "
      "becomes 8-bit grey; if its outermost ring of pixels is light, the image is inverted "
      "(MNIST's strokes are light on black) and the background's level removed; the strokes' "
      "bounding box is scaled, aspect kept, so its longer side is 20 pixels (area averaging); "
      "and it is placed in 28x28 with its centre of mass at the centre. One digit per image, "
      "roughly upright: the net was trained on MNIST's rotations of at most a few degrees.");
  return [o]() -> int {
    if (o->images.empty()) {
      throw vkm::Error(
          "predict: give one or more PNG files after the options, e.g. vkmnist predict --model "
          "runs/bn digit.png");
    }
    if (o->images.size() > kMaxImages) {
      throw vkm::Error(
          fmt::format("{} images: predict takes at most {} per run (vkmnist eval "
                      "scores a whole IDX set)",
                      o->images.size(), kMaxImages));
    }
    const fs::path file = model_file(o->model);
    // Every image is read and prepared before the device is touched.
    const auto count = static_cast<uint32_t>(o->images.size());
    std::vector<Prediction> out(count);
    vkm::nn::Dataset set;
    set.images = {count, 28, 28, {}};
    set.labels = {count, std::vector<uint8_t>(count, 0)};
    for (uint32_t i = 0; i < count; ++i) {
      out[i].file = o->images[i];
      const auto digit = prepare_digit(read_png_grey(o->images[i]), &out[i].preparation);
      set.images.pixels.insert(set.images.pixels.end(), digit.begin(), digit.end());
    }
    // One batch: the model's log-probabilities then hold every image's.
    const vkm::nn::TrainConfig config = evaluation_config(file, count);
    if (!o->out.empty()) vkm::check_writable(o->out);  // now, not after the model has run

    vkm::Context context(vkm::ContextOptions{.device = o->device});
    vkm::KernelCache kernels(context.device);
    vkm::nn::Trainer trainer(context.device, kernels, config, set, set);
    vkm::nn::load_model(file, trainer.model());
    trainer.evaluate();
    const std::vector<float> log_probs = trainer.model().log_probs().download();
    for (uint32_t i = 0; i < count; ++i) {
      Prediction& p = out[i];
      p.predicted = trainer.predictions()[i];
      for (uint32_t c = 0; c < vkm::nn::kClasses; ++c) {
        p.probabilities.push_back(std::exp(double{log_probs[size_t{i} * vkm::nn::kClasses + c]}));
      }
    }

    if (!o->out.empty()) {
      std::string csv = "file,predicted";
      for (uint32_t c = 0; c < vkm::nn::kClasses; ++c) csv += fmt::format(",p{}", c);
      csv += "\n";
      for (const Prediction& p : out) {
        csv += fmt::format("\"{}\",{}", p.file, p.predicted);
        for (double q : p.probabilities) csv += fmt::format(",{:.6f}", q);
        csv += "\n";
      }
      write_file_atomically(o->out, csv);
    }
    if (o->json) {
      nlohmann::ordered_json j = nlohmann::ordered_json::array();
      for (const Prediction& p : out) {
        j.push_back({{"file", p.file},
                     {"predicted", p.predicted},
                     {"probabilities", p.probabilities},
                     {"inverted", p.preparation.inverted},
                     {"blank", p.preparation.empty}});
      }
      fmt::print("{}\n", j.dump(2));
      return 0;
    }
    fmt::print("model: {} ({})\n\n", file.string(), vkm::nn::norm_long_name(config.net.norm));
    std::string header = "| image | digit | p |";
    std::string rule = "|---|---:|---:|";
    for (uint32_t c = 0; c < vkm::nn::kClasses; ++c) {
      header += fmt::format(" {} |", c);
      rule += "---:|";
    }
    fmt::print("{} notes |\n{}---|\n", header, rule);
    for (const Prediction& p : out) {
      std::string row = fmt::format("| {} | **{}** | {:.3f} |", p.file, p.predicted,
                                    p.probabilities[p.predicted]);
      for (double q : p.probabilities) row += q < 0.0005 ? " · |" : fmt::format(" {:.3f} |", q);
      std::string notes = p.preparation.empty      ? "blank image: the prediction means nothing"
                          : p.preparation.inverted ? "inverted (dark on light)"
                                                   : "";
      fmt::print("{} {} |\n", row, notes);
    }
    if (!o->out.empty()) fmt::print("\npredictions: {}\n", o->out);
    return 0;
  };
}

}  // namespace vkmnist
