// What a run checks before the device is set up (seconds on a CPU driver), so a wrong file costs
// no wait: the new run folder, --init's checkpoint; and the message for a data file that is not
// there, which says how to fix it for a new run or a resumed one.
#pragma once

#include <filesystem>
#include <string>

#include "engine/error.hpp"
#include "nn/data/idx.hpp"
#include "nn/seed_net.hpp"

namespace vkmnist {

// --init's checkpoint against the net it is to start: its norm, groups and affine (from its
// metadata) and every value finite. `given` is --init as the user wrote it, for the message.
void check_init_checkpoint(const std::filesystem::path& file, const vkm::nn::NetConfig& net,
                           const std::string& given);

// A new run's folder: never one that holds a run (run.json or metrics.csv), nor a file.
void check_new_run_folder(const std::filesystem::path& folder);

// The error for a missing data file in `folder` (--data, or a resumed run's run.json).
vkm::Error missing_data_error(const vkm::nn::MissingDataError& e, const std::string& folder,
                              bool resumed);

}  // namespace vkmnist
