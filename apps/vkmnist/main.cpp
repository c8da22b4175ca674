// vkmnist: trains and studies small MNIST CNNs on any Vulkan device. This file parses the
// command line (train is the default subcommand), runs the chosen subcommand, and is the one
// place errors become a message and a non-zero exit.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "apps/vkmnist/cli_checks.hpp"
#include "apps/vkmnist/commands.hpp"
#include "apps/vkmnist/run_folder.hpp"
#include "engine/error.hpp"

int main(int argc, char** argv) {
  // Line-buffered stdout even into a pipe: under `2>&1 | tee` its lines and stderr's come out in
  // the order they were printed.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  CLI::App app{
      "vkmnist — train a ~8,000-parameter MNIST CNN with BatchNorm, LayerNorm or GroupNorm "
      "entirely on a "
      "Vulkan device (NVIDIA, AMD, Intel, Apple via MoltenVK, or lavapipe on the CPU).",
      "vkmnist"};
  app.footer(
      "Without a subcommand, vkmnist trains: `vkmnist --norm bn --l1 1e-5` reproduces the study's "
      "BN+L1 model.\n"
      "Run `vkmnist <command> --help` for each command's options.\n\n"
      "Environment: VKMNIST_VALIDATION=1 enables the Khronos validation layer; "
      "VKMNIST_NO_SUBGROUP_OPS=1 "
      "uses shared-memory reductions only; VKMNIST_SUBGROUP_SIZE=n requests a subgroup size where "
      "the "
      "device allows it; VKMNIST_NO_TEXEL_BUFFERS=1 reads activations from storage buffers instead "
      "of texel buffers.");
  app.set_version_flag("--version", std::string("vkmnist ") + VKMNIST_VERSION);
  app.require_subcommand(1);
  std::map<std::string, std::function<int()>> commands;
  commands["train"] = vkmnist::add_train_command(app);
  commands["compare"] = vkmnist::add_compare_command(app);
  commands["sweep"] = vkmnist::add_sweep_command(app);
  commands["eval"] = vkmnist::add_eval_command(app);
  commands["predict"] = vkmnist::add_predict_command(app);
  commands["summary"] = vkmnist::add_summary_command(app);
  commands["normcalc"] = vkmnist::add_normcalc_command(app);
  commands["devices"] = vkmnist::add_devices_command(app);

  vkmnist::set_invocation(argc, argv);
  // `vkmnist --norm bn` means `vkmnist train --norm bn`.
  std::vector<char*> args(argv, argv + argc);
  static char train[] = "train";
  const bool top_level_flag =
      argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
                   std::strcmp(argv[1], "--version") == 0);
  static char help[] = "--help";
  if (argc == 1) {
    args.push_back(help);
  } else if (!top_level_flag && argv[1][0] == '-') {
    args.insert(args.begin() + 1, train);
  }

  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::vector<std::string> words(args.begin(), args.end());
    std::fprintf(stderr, "vkmnist: %s\n", vkmnist::parse_error_message(app, e, words).c_str());
    return e.get_exit_code() != 0 ? e.get_exit_code() : 2;
  }
  try {
    for (const auto* sub : app.get_subcommands()) return commands.at(sub->get_name())();
    return 2;
  } catch (const vkm::DeviceChoiceError& e) {  // the choice came from --device
    std::fflush(stdout);
    std::fprintf(stderr, "vkmnist: --device: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "vkmnist: %s\n", e.what());
    return 1;
  }
}
