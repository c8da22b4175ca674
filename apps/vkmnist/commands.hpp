// The vkmnist subcommands: each registers its options on the CLI and returns the function that
// runs it (its exit code) when chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace vkmnist {

std::function<int()> add_devices_command(CLI::App& app);
std::function<int()> add_train_command(CLI::App& app);
std::function<int()> add_summary_command(CLI::App& app);
std::function<int()> add_compare_command(CLI::App& app);
std::function<int()> add_sweep_command(CLI::App& app);
std::function<int()> add_normcalc_command(CLI::App& app);
std::function<int()> add_eval_command(CLI::App& app);
std::function<int()> add_predict_command(CLI::App& app);

}  // namespace vkmnist
