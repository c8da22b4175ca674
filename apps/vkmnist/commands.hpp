// The vkmnist subcommands: each registers its options on the CLI and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace vkmnist {

// Adds `devices` to the app; the returned function runs it (exit code).
std::function<int()> add_devices_command(CLI::App& app);

}  // namespace vkmnist
