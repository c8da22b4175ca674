// The --model argument: resolving it, and the configuration that evaluates the checkpoint.
#include "apps/vkmnist/model_argument.hpp"

#include <fmt/format.h>

#include "engine/error.hpp"
#include "nn/checkpoint.hpp"
#include "nn/safetensors.hpp"

namespace vkmnist {

std::filesystem::path model_file(const std::filesystem::path& given) {
  const std::filesystem::path file =
      std::filesystem::is_directory(given) ? given / "model.safetensors" : given;
  if (!std::filesystem::exists(file)) {
    throw vkm::Error(fmt::format(
        "{}: no such checkpoint (give a run folder holding model.safetensors, or the file)",
        file.string()));
  }
  return file;
}

vkm::nn::TrainConfig evaluation_config(const std::filesystem::path& file, uint32_t batch_size) {
  vkm::nn::TrainConfig config;
  config.net = vkm::nn::checkpoint_net_config(vkm::nn::read_safetensors(file).metadata);
  config.batch_size = batch_size;
  config.epochs = 1;
  config.augment = false;
  return config;
}

}  // namespace vkmnist
