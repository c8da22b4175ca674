// vkmnist: trains and studies small MNIST CNNs on any Vulkan device. This file parses the
// command line, runs the chosen subcommand, and is the one place errors become a message and
// a non-zero exit.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>

#include "apps/vkmnist/commands.hpp"
#include "engine/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "vkmnist — train a ~8k-parameter MNIST CNN (BatchNorm, LayerNorm or GroupNorm) entirely on a "
      "Vulkan device.\n\n"
      "Environment: VKMNIST_VALIDATION=1 enables the Khronos validation layer; "
      "VKMNIST_NO_SUBGROUP_OPS=1 uses shared-memory reductions only; VKMNIST_SUBGROUP_SIZE=n requests "
      "a subgroup size where the device allows it.",
      "vkmnist"};
  app.set_version_flag("--version", std::string("vkmnist ") + VKMNIST_VERSION);
  app.require_subcommand(1);
  auto run_devices = vkmnist::add_devices_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (app.got_subcommand("devices")) return run_devices();
    return 2;
  } catch (const vkm::Error& e) {
    std::fprintf(stderr, "vkmnist: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vkmnist: %s\n", e.what());
    return 1;
  }
}
