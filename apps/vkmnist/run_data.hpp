// The data a run was trained on, as its run.json records it: the CRC-32 of each split's images
// and labels as read (after --train-limit / --test-limit), so that a resume can tell the run's
// own data from other files, wherever they are now.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>

#include "apps/vkmnist/train_options.hpp"
#include "nn/data/idx.hpp"

namespace vkmnist {

// {"train": "<crc32 hex>", "test": "<crc32 hex>"}
nlohmann::json data_checksums(const vkm::nn::Dataset& train, const vkm::nn::Dataset& test);

// A resumed run's data against `run` (its run.json): refused (vkm::Error) when the checksums
// differ, or when --data moved it and run.json (from before the checksums) cannot tell; when
// --data holds the same files elsewhere, run.json is rewritten to point there.
void check_resumed_data(const std::filesystem::path& folder, nlohmann::json run,
                        const TrainOptions& o, const nlohmann::json& checksums);

}  // namespace vkmnist
