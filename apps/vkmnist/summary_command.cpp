// `vkmnist summary`: the seed net's layers, output shapes and parameter counts, like torchsummary.
#include <fmt/format.h>

#include <memory>
#include <stdexcept>

#include "apps/vkmnist/commands.hpp"
#include "apps/vkmnist/training_run.hpp"
#include "engine/error.hpp"

namespace vkmnist {

std::function<int()> add_summary_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("summary",
                                 "Layer table of the seed net: output shapes and parameter counts");
  struct Options {
    std::string norm = "bn";
    uint32_t groups = 4;
    bool no_affine = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--norm", o->norm, "bn, ln, gn or in")
      ->transform(CLI::IsMember({"bn", "ln", "gn", "in"}, CLI::ignore_case))
      ->capture_default_str();
  cmd->add_option("--groups", o->groups, "GroupNorm's groups (1, 2, 4 or 8)")
      ->capture_default_str();
  cmd->add_flag("--no-affine", o->no_affine, "Norms without scale and shift");
  return [o]() -> int {
    vkm::nn::NetConfig config;
    try {
      config = {.norm = vkm::nn::parse_norm(o->norm), .groups = o->groups, .affine = !o->no_affine};
      vkm::nn::validate(config);
    } catch (const vkm::nn::InvalidNetConfig& e) {
      throw vkm::Error(fmt::format("--{} {}", e.field(), e.what()));
    } catch (const std::invalid_argument& e) {
      throw vkm::Error(e.what());
    }
    fmt::print("{}", summary_table(config));
    return 0;
  };
}

}  // namespace vkmnist
