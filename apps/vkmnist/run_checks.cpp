// Checks a run makes of its files before the device is set up, and the message for missing data.
#include "apps/vkmnist/run_checks.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "engine/error.hpp"
#include "nn/safetensors.hpp"

namespace vkmnist {

namespace fs = std::filesystem;

namespace {

std::string norm_title(const std::string& key) {
  try {
    return vkm::nn::norm_long_name(vkm::nn::parse_norm(key));
  } catch (const std::invalid_argument&) {  // a checkpoint's metadata names no norm we know
    return "norm '" + key + "'";
  }
}

}  // namespace

// --init's checkpoint against the net it is to start: its norm, groups and affine (from its
// metadata; the tensor names alone would let another group count or an affine net's weights load
// silently) and every value finite. Before the device is set up, so a wrong file costs no wait.
void check_init_checkpoint(const fs::path& file, const vkm::nn::NetConfig& net,
                           const std::string& given) {
  const vkm::nn::SafetensorsFile checkpoint = vkm::nn::read_safetensors(file);
  const auto& meta = checkpoint.metadata;
  const std::string norm = vkm::nn::norm_name(net.norm);
  if (auto it = meta.find("norm"); it != meta.end() && it->second != norm) {
    throw vkm::Error(fmt::format("--init {}: a {} checkpoint cannot initialise a {} model", given,
                                 norm_title(it->second), norm_title(norm)));
  }
  const std::string groups = net.groups_text();
  if (auto it = meta.find("groups"); it != meta.end() && it->second != groups) {
    throw vkm::Error(
        fmt::format("--init {}: a checkpoint with {} groups cannot initialise a model with {}",
                    given, it->second, groups));
  }
  const std::string affine = net.affine ? "true" : "false";
  if (auto it = meta.find("affine"); it != meta.end() && it->second != affine) {
    throw vkm::Error(fmt::format(
        "--init {}: a checkpoint {} norm weights cannot initialise a model {} them", given,
        it->second == "true" ? "with" : "without", net.affine ? "with" : "without"));
  }
  for (const auto& tensor : checkpoint.tensors) {
    for (float v : tensor.data) {
      if (!std::isfinite(v)) {
        throw vkm::Error(
            fmt::format("--init {}: tensor '{}' holds values that are not finite (a diverged run?)",
                        given, tensor.name));
      }
    }
  }
}

// A new run's folder: never one that holds a run, even one stopped before its first epoch
// (run.json without metrics.csv), nor a file.
void check_new_run_folder(const fs::path& folder) {
  if (fs::exists(folder / "metrics.csv") || fs::exists(folder / "run.json")) {
    throw vkm::Error(fmt::format("{} already holds a run: choose another --out, or --resume {}",
                                 folder.string(), folder.string()));
  }
  if (fs::exists(folder) && !fs::is_directory(folder)) {
    throw vkm::Error(
        fmt::format("--out {}: a file, not a folder: choose another --out", folder.string()));
  }
}

vkm::Error missing_data_error(const vkm::nn::MissingDataError& e, const std::string& folder,
                              bool resumed) {
  if (resumed) {
    return vkm::Error(fmt::format(
        "{}: the run's data folder ({} in its run.json) no longer holds MNIST; put the files "
        "back there (scripts/fetch-mnist fetches them into data/mnist)",
        e.what(), folder));
  }
  return vkm::Error(fmt::format("{}: run scripts/fetch-mnist, or pass --data DIR", e.what()));
}

}  // namespace vkmnist
