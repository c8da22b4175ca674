// `vkmnist normcalc`: BatchNorm, LayerNorm and GroupNorm worked by hand on a batch of four 2x2
// images with 4 channels: the statistics each one takes (over which values), the normalized
// outputs, computed by the CPU reference and by the GPU shaders side by side, and their largest
// difference. --json prints the same numbers for machines (tests recompute them independently).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <memory>
#include <random>

#include "apps/vkmnist/commands.hpp"
#include "engine/graph.hpp"
#include "nn/layers/batchnorm2d.hpp"
#include "nn/layers/groupnorm.hpp"
#include "nn/reference/batchnorm.hpp"
#include "nn/reference/groupnorm.hpp"

namespace vkmnist {

namespace {

using vkm::nn::Shape;
constexpr Shape kShape{4, 4, 2, 2};  // [N, C, H, W]
constexpr float kEps = 1e-5f;

struct Normalization {
  std::string key, title, over;
  std::vector<double> mean, var;  // one per statistic group
  std::vector<std::string> group_names;
  std::vector<float> cpu, gpu;  // [N, C, H, W]
};

double max_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double{a[i]} - b[i]));
  return m;
}

// invstd -> biased variance, as the reference reports it.
std::vector<double> variance(const std::vector<double>& invstd) {
  std::vector<double> v;
  for (double s : invstd) v.push_back(1.0 / (s * s) - kEps);
  return v;
}

std::vector<float> run_gpu(vkm::Context& context, const std::vector<float>& x,
                           const std::string& key) {
  vkm::KernelCache kernels(context.device);
  vkm::nn::Tensor in(context.device, kShape, "x"), out(context.device, kShape, "y");
  in.upload(x);
  out.fill(NAN);
  vkm::Graph graph;
  std::unique_ptr<vkm::nn::BatchNorm2d> bn;
  std::unique_ptr<vkm::nn::GroupNorm> gn;
  if (key == "bn") {
    bn = std::make_unique<vkm::nn::BatchNorm2d>(context.device, kernels, "bn", kShape, false, false,
                                                vkm::nn::FusedDropout{}, kEps);
    bn->record_forward_train(graph, in, out, kShape.n);
  } else {
    gn = std::make_unique<vkm::nn::GroupNorm>(context.device, kernels, key, kShape,
                                              key == "ln" ? 1u : 2u, false, false,
                                              vkm::nn::FusedDropout{}, kEps);
    gn->record_forward(graph, in, out, kShape.n);
  }
  vkm::Program(context.device, graph).run();
  return out.download();
}

void print_tensor(const char* label, const std::vector<float>& v) {
  fmt::print("{}\n", label);
  for (uint32_t n = 0; n < kShape.n; ++n) {
    fmt::print("  image {}:", n);
    for (uint32_t c = 0; c < kShape.c; ++c) {
      const float* p = v.data() + (n * kShape.c + c) * 4;
      fmt::print("  c{} [{:7.3f} {:7.3f} / {:7.3f} {:7.3f}]", c, p[0], p[1], p[2], p[3]);
    }
    fmt::print("\n");
  }
}

}  // namespace

std::function<int()> add_normcalc_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "normcalc", "BN, LN and GN worked by hand on four tiny images, CPU and GPU side by side");
  struct Options {
    uint32_t seed = 1;
    bool json = false;
    std::string device;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--seed", o->seed, "Seed of the example values")->capture_default_str();
  cmd->add_option("--device", o->device, "Vulkan device: index or name substring");
  cmd->add_flag("--json", o->json, "The numbers as one JSON object");
  return [o]() -> int {
    // Values with one decimal, so the arithmetic can be followed by hand.
    std::mt19937 rng(o->seed);
    std::uniform_int_distribution<int> tenths(0, 99);
    std::vector<float> x(kShape.numel());
    for (auto& v : x) v = static_cast<float>(tenths(rng)) / 10.0f;
    vkm::Context context(vkm::ContextOptions{.device = o->device});

    std::vector<Normalization> norms;
    {  // BatchNorm: per channel, over the batch and the plane (N*H*W = 16 values).
      Normalization bn{
          "bn", "BatchNorm", "per channel c, over the 4 images x 2x2 pixels (16 values)",
          {},   {},          {},
          {},   {}};
      std::vector<float> y(x.size()), rm(4, 0.0f), rv(4, 1.0f), mean(4), invstd(4);
      vkm::nn::reference::batchnorm_forward_train<float>(kShape, x, {}, {}, kEps, 0.1f, y, rm, rv,
                                                         mean, invstd);
      bn.mean.assign(mean.begin(), mean.end());
      bn.var = variance({invstd.begin(), invstd.end()});
      for (int c = 0; c < 4; ++c) bn.group_names.push_back(fmt::format("channel {}", c));
      bn.cpu = y;
      norms.push_back(bn);
    }
    for (uint32_t groups :
         {1u, 2u}) {  // LayerNorm (one group), GroupNorm (two groups of two channels)
      Normalization g{
          groups == 1 ? "ln" : "gn",
          groups == 1 ? "LayerNorm" : "GroupNorm (2 groups)",
          groups == 1
              ? "per image, over its 4 channels x 2x2 pixels (16 values)"
              : "per image and group of 2 channels, over 2 channels x 2x2 pixels (8 values)",
          {},
          {},
          {},
          {},
          {}};
      std::vector<float> y(x.size()), mean(4 * groups), invstd(4 * groups);
      vkm::nn::reference::groupnorm_forward<float>(kShape, groups, x, {}, {}, kEps, y, mean,
                                                   invstd);
      g.mean.assign(mean.begin(), mean.end());
      g.var = variance({invstd.begin(), invstd.end()});
      for (uint32_t n = 0; n < 4; ++n) {
        for (uint32_t gi = 0; gi < groups; ++gi) {
          g.group_names.push_back(
              groups == 1 ? fmt::format("image {}", n)
                          : fmt::format("image {} channels {}-{}", n, 2 * gi, 2 * gi + 1));
        }
      }
      g.cpu = y;
      norms.push_back(g);
    }
    for (auto& n : norms) n.gpu = run_gpu(context, x, n.key);

    if (o->json) {
      nlohmann::json j{{"shape", {4, 4, 2, 2}}, {"eps", kEps}, {"input", x}};
      for (const auto& n : norms) {
        j[n.key] = {{"mean", n.mean},
                    {"var", n.var},
                    {"cpu", n.cpu},
                    {"gpu", n.gpu},
                    {"max_difference", max_difference(n.cpu, n.gpu)}};
      }
      fmt::print("{}\n", j.dump());
      return 0;
    }
    fmt::print(
        "Four 2x2 images with 4 channels, x: [N=4, C=4, H=2, W=2] (seed {}); each channel as [row "
        "0 / row 1]\n\n",
        o->seed);
    print_tensor("x", x);
    fmt::print(
        "\nEvery normalization computes y = (x - mean) / sqrt(var + eps), eps = 1e-5, with the "
        "biased\n"
        "variance var = sum((x - mean)^2) / count; they differ only in which values share a "
        "mean.\n");
    for (const auto& n : norms) {
      fmt::print("\n== {}: statistics {} ==\n", n.title, n.over);
      for (size_t i = 0; i < n.mean.size(); ++i) {
        fmt::print("  {:<24} mean {:8.4f}   var {:8.4f}   1/sqrt(var+eps) {:8.4f}\n",
                   n.group_names[i], n.mean[i], n.var[i], 1.0 / std::sqrt(n.var[i] + kEps));
      }
      print_tensor("  y, CPU reference:", n.cpu);
      print_tensor("  y, GPU shaders:", n.gpu);
      fmt::print("  largest |CPU - GPU| difference: {:.3g}\n", max_difference(n.cpu, n.gpu));
    }
    fmt::print("\nDevice: {}\n", context.device.info().name);
    return 0;
  };
}

}  // namespace vkmnist
