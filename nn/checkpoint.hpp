// Checkpoints: the model's state (parameters and BN running statistics, by PyTorch name) as
// safetensors with metadata (norm, groups, affine, training options), and the optimizer's
// momentum buffers for --resume. Written to a temporary file and renamed; loading checks every
// name and shape against the model and says what does not match.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "nn/model.hpp"

namespace vkm::nn {

using Metadata = std::map<std::string, std::string>;

// Metadata describing the net (norm, groups, affine, dropout), merged into `extra`.
Metadata model_metadata(const NetConfig& config, Metadata extra = {});

void save_model(const std::filesystem::path& file, const Model& model, const Metadata& metadata);
// Loads parameters and running statistics; returns the file's metadata. Throws vkm::Error
// naming the tensor when a name is missing or a shape differs (e.g. a bn checkpoint into gn).
Metadata load_model(const std::filesystem::path& file, Model& model);
// The net configuration a checkpoint was saved with (from its metadata).
NetConfig checkpoint_net_config(const Metadata& metadata);

void save_optimizer(const std::filesystem::path& file, const Model& model,
                    const Metadata& metadata);
Metadata load_optimizer(const std::filesystem::path& file, Model& model);

}  // namespace vkm::nn
