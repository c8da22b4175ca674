// The kernel-table case of a normalization with its fused ReLU, as the seed net uses it:
// BatchNorm2d (bn) or GroupNorm (gn; ln is one group), training forward then backward, checked
// against nn/reference/{batchnorm,groupnorm} in double (the ReLU applied on top; its backward
// mask taken from the device's own output, so values within rounding of 0 cannot flip it).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

#include "apps/vkbench/kernel_case.hpp"
#include "apps/vkbench/kernel_cases.hpp"
#include "nn/layers/batchnorm2d.hpp"
#include "nn/layers/groupnorm.hpp"
#include "nn/reference/activation.hpp"
#include "nn/reference/batchnorm.hpp"
#include "nn/reference/groupnorm.hpp"
#include "nn/tensor.hpp"

namespace vkbench {

namespace {

using Vec = std::vector<double>;

// FLOPs per element: plane statistics (subtract, add, multiply-add), normalize (subtract,
// multiply, multiply-add, ReLU), gradient sums (ReLU mask, xhat, two adds, a multiply), dx (xhat,
// three multiply-adds). The merges of the planes in each pass's last workgroup are not counted.
constexpr double kStatistics = 3, kNormalize = 4, kGradSums = 5, kGradInput = 6;

}  // namespace

std::vector<KernelRow> norm_case(const BenchContext& ctx, const std::string& layer,
                                 nn::NormKind norm, uint32_t groups, nn::Shape s,
                                 nn::FusedDropout dropout) {
  vkm::Device& device = ctx.device;
  const bool batch_norm = norm == nn::NormKind::kBatch;
  std::optional<nn::BatchNorm2d> bn;
  std::optional<nn::GroupNorm> gn;
  if (batch_norm) {
    bn.emplace(device, ctx.kernels, layer, s, true, true, dropout);
  } else {
    gn.emplace(device, ctx.kernels, layer, s, groups, true, true, dropout);
  }
  const vkm::Buffer clock = clock_buffer(device);
  std::vector<nn::Parameter*> params = batch_norm ? bn->parameters() : gn->parameters();
  nn::Tensor x(device, s, "x"), y(device, s, "y"), dy(device, s, "dy"), dx(device, s, "dx");
  const auto xv = random_floats(s.numel(), -0.5f, 1.5f, 11);
  auto dyv = random_floats(s.numel(), -1.0f, 1.0f, 12);
  // An offset and a component along x keep the parameter gradients (sums over a channel) away
  // from cancellation, where float's rounding would show as a large relative error.
  for (size_t i = 0; i < dyv.size(); ++i) dyv[i] += 0.3f + 0.5f * xv[i];
  const auto gamma = random_floats(s.c, 0.5f, 1.5f, 13);
  const auto beta = random_floats(s.c, -0.5f, 0.5f, 14);
  x.upload(xv);
  dy.upload(dyv);
  params[0]->value.upload(gamma);
  params[1]->value.upload(beta);
  for (const nn::Tensor* t : {&y, &dx, &params[0]->grad, &params[1]->grad}) t->fill(NAN);
  vkm::Graph graph;
  if (batch_norm) {
    bn->record_forward_train(graph, x, y, s.n, &clock, 0);
    bn->record_backward(graph, x, dy, dx, s.n, &clock, 0);
  } else {
    gn->record_forward(graph, x, y, s.n, &clock, 0);
    gn->record_backward(graph, x, dy, dx, s.n, &clock, 0);
  }
  const double e = double(s.numel());
  const auto rows = rows_per_node(graph, {{"norm_forward_stats", kStatistics * e},
                                          {"norm_forward", kNormalize * e},
                                          {"norm_backward_sums", kGradSums * e},
                                          {"norm_backward", kGradInput * e}});

  auto check = [&](Checker& checker) {
    const Vec x64 = widen(xv), g64 = widen(gamma), b64 = widen(beta);
    const auto got_y = y.download();
    Vec want_y(s.numel()), want_dx(s.numel()), dgamma(s.c), dbeta(s.c);
    // The ReLU (and dropout) mask: where the output is positive; kept values scaled by 1 / (1 - p).
    const double scale = dropout.on() ? 1.0 / (1.0 - double{dropout.p}) : 1.0;
    Vec dy_masked = widen(dyv);
    for (size_t i = 0; i < dy_masked.size(); ++i)
      dy_masked[i] = got_y[i] > 0.0f ? dy_masked[i] * scale : 0.0;
    if (batch_norm) {
      Vec running_mean(s.c, 0.0), running_var(s.c, 1.0), mean(s.c), invstd(s.c);
      nn::reference::batchnorm_forward_train<double>(s, x64, g64, b64, 1e-5, 0.1, want_y,
                                                     running_mean, running_var, mean, invstd);
      nn::reference::batchnorm_backward<double>(s, x64, dy_masked, g64, mean, invstd, want_dx,
                                                dgamma, dbeta);
    } else {
      Vec mean(size_t{s.n} * groups), invstd(size_t{s.n} * groups);
      nn::reference::groupnorm_forward<double>(s, groups, x64, g64, b64, 1e-5, want_y, mean,
                                               invstd);
      nn::reference::groupnorm_backward<double>(s, groups, x64, dy_masked, g64, mean, invstd,
                                                want_dx, dgamma, dbeta);
    }
    for (double& v : want_y) v = std::max(v, 0.0);
    if (dropout.on()) {
      const Vec relu = want_y;
      nn::reference::dropout_forward<double>(dropout.p, kClockSeed, dropout.salt, 0, relu, want_y);
    }
    checker.compare("y", got_y, want_y);
    checker.compare("dx", dx.download(), want_dx);
    checker.compare("dgamma", params[0]->grad.download(), dgamma);
    checker.compare("dbeta", params[1]->grad.download(), dbeta);
  };
  return run_case(ctx, {layer, nn::norm_name(norm), s.str()}, graph, rows, check);
}

}  // namespace vkbench
