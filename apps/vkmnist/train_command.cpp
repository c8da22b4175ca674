// `vkmnist [train]`: trains the seed net with one normalization, entirely on the device.
#include <fmt/format.h>

#include <memory>

#include "apps/vkmnist/commands.hpp"
#include "apps/vkmnist/recipe.hpp"
#include "apps/vkmnist/training_run.hpp"
#include "engine/error.hpp"
#include "engine/kernel.hpp"
#include "nn/seed_net.hpp"

namespace vkmnist {

std::function<int()> add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train", "Train the seed net (the default command): vkmnist --norm bn --l1 1e-5");
  cmd->footer(
      "Outputs go to the run folder: metrics.csv (epoch, split, loss, penalty, accuracy, lr, "
      "seconds), "
      "model.safetensors (PyTorch names: conv1.weight ... norm8.running_var), "
      "optimizer.safetensors, "
      "predictions.csv, summary.txt, run.json. The reported loss is the mean NLL over the epoch's "
      "images; "
      "penalty is λ₁·Σ|w| + λ₂/2·Σw² at the epoch's end.\n"
      "Examples:\n  vkmnist --norm bn --l1 1e-5\n  vkmnist --norm gn --groups 2 --epochs 5 --out "
      "runs/gn2\n"
      "  vkmnist --resume runs/gn2        (continue an interrupted run, bitwise as if "
      "uninterrupted)");
  auto options = std::make_shared<TrainOptions>();
  add_train_options(*cmd, *options, true);
  cmd->add_option("--init", options->init,
                  "Start from the weights of this model.safetensors (or of a run folder's)");
  cmd->add_option("--resume", options->resume,
                  "Continue the run in this folder from its last completed epoch");
  return [options, cmd]() -> int {
    // Options, then data, are checked before the device is touched or anything is written.
    if (!options->resume.empty()) check_resume_options(*cmd);
    options->data_given = cmd->count("--data") > 0;
    TrainOptions o = options->resume.empty() ? *options : resumed_options(*options);
    if (o.resume.empty()) make_paths_absolute(o);
    if (o.resume.empty()) {  // a resumed run keeps its run.json's
      if (cmd->count("--batch-size") == 0) o.batch_size = default_recipe(o.norm).batch_size;
      if (cmd->count("--lr") == 0) o.lr = default_lr(o.norm, o.batch_size);
      if (cmd->count("--l2") == 0) o.l2 = default_recipe(o.norm).l2;
    }
    const vkm::nn::TrainConfig config = to_config(o);
    if (cmd->count("--groups") > 0 && config.net.norm != vkm::nn::NormKind::kGroup) {
      throw vkm::Error(
          fmt::format("--groups {}: only GroupNorm (--norm gn) has groups; {} would "
                      "ignore it",
                      o.groups, vkm::nn::norm_long_name(config.net.norm)));
    }
    const Data data = load_data(o, !o.resume.empty());
    vkm::Context context(vkm::ContextOptions{.device = o.device});
    vkm::KernelCache kernels(context.device);
    run_training(context, kernels, o, data);
    return 0;
  };
}

}  // namespace vkmnist
