// The --model argument of `vkmnist eval` and `vkmnist predict`: a run folder or a checkpoint, and
// the configuration that evaluates it.
#pragma once

#include <cstdint>
#include <filesystem>

#include "nn/trainer.hpp"

namespace vkmnist {

// A run folder means its model.safetensors. Throws vkm::Error saying what to give when there is
// no such file.
std::filesystem::path model_file(const std::filesystem::path& given);

// The checkpoint's net (norm, groups, affine, from its metadata) for one pass over a test set in
// batches of `batch_size`: no training, no augmentation.
vkm::nn::TrainConfig evaluation_config(const std::filesystem::path& file, uint32_t batch_size);

}  // namespace vkmnist
