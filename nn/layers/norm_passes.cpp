// NormPasses: the buffers, kernels and recordings BatchNorm2d and GroupNorm share.
#include "nn/layers/norm_passes.hpp"

#include <fmt/format.h>

#include "engine/error.hpp"
#include "nn/clock.hpp"

namespace vkm::nn {
namespace {

constexpr uint32_t kWorkgroup = 64;

}  // namespace

NormPasses::NormPasses(Device& device, KernelCache& kernels, std::string name, Shape input,
                       const NormConfig& config, size_t statistics)
    : device_(&device),
      kernels_(&kernels),
      name_(std::move(name)),
      input_(input),
      config_(config),
      packed_(activation_layout(input) == Layout::kNC4HW4),
      vec4_(input.plane() % 4 == 0),
      affine_(device, name_, config.kind, input, kWorkgroup, config.affine) {
  if (config.dropout.on() && !config.relu)
    throw Error(fmt::format("{}: fused dropout needs the fused ReLU", name_));
  partials_ = device.buffer(size_t{input.n} * input.c * 2 * sizeof(float), name_ + " partials");
  save_mean_ = device.buffer(statistics * sizeof(float), name_ + " save_mean");
  save_invstd_ = device.buffer(statistics * sizeof(float), name_ + " save_invstd");
  coef_ = device.buffer(statistics * 4 * sizeof(float), name_ + " dx coefficients");
  for (Buffer* counter : {&forward_counter_, &backward_counter_}) {
    *counter = device.buffer(sizeof(uint32_t), name_ + " workgroups done");
    device.fill(*counter, 0);
  }
}

void NormPasses::upload_params(Device& device, const NormApply& train, const NormApply& eval) {
  params_[0] = upload_norm_apply_params(device, train, name_ + " params (train)");
  params_[1] = upload_norm_apply_params(device, eval, name_ + " params (eval)");
}

NormStats NormPasses::stats(const Buffer& running_mean, const Buffer& running_var) const {
  return {.partials = &partials_,
          .forward_counter = &forward_counter_,
          .backward_counter = &backward_counter_,
          .params = &params_[0],
          .mean = &save_mean_,
          .invstd = &save_invstd_,
          .running_mean = &running_mean,
          .running_var = &running_var,
          .gamma = &affine_.gamma(),
          .dgamma = &affine_.dgamma(),
          .dbeta = &affine_.dbeta(),
          .coef = &coef_};
}

// texel_reads: the bindings of the [N, C, H, W] tensors the kernel reads (x, y, dy), read as
// rgba32f (four floats per fetch) where the planes are whole vec4s. Constants: VEC4 (10), PACKED
// (19: NC4HW4 tensors, four planes per invocation).
KernelDesc NormPasses::desc(const char* shader, uint32_t bindings, uint32_t texel_reads) const {
  const uint32_t texel = device_->texel_reads_for(texel_reads, input_.numel() * sizeof(float));
  KernelDesc d{.shader = shader,
               .local_size = {kWorkgroup, 1, 1},
               .push_constant_bytes = sizeof(NormPush),
               .bindings = bindings,
               .texel_reads = texel,
               .texel_vec4 = texel != 0 && (vec4_ || packed_) && device_->texel_vec4_reads()};
  d.constant("VEC4", vec4_).constant("PACKED", packed_);
  return d;
}

const Kernel& NormPasses::kernel(const Kernel*& slot, const KernelDesc& desc) const {
  if (slot == nullptr) slot = &kernels_->get(desc);
  return *slot;
}

void NormPasses::record_statistics(Graph& graph, const Tensor& x, const NormPush& p,
                                   Statistics given, const NormStats& stats) const {
  check("forward", x, "input", p.n);
  if (given == Statistics::kGiven) return;  // the producer wrote and finished them
  std::vector<Binding> bindings{reads(x.buffer())};
  stats.add_forward_bindings(bindings);
  graph.dispatch(kernel(forward_stats_, desc("norm_forward_stats", 8, 0b1)), std::move(bindings), p,
                 grid(p), std::string(config_.kind) + "_forward_stats");
}

void NormPasses::record_forward(Graph& graph, const Tensor& x, const Tensor& y, const NormPush& p,
                                const NormApply& how, const Buffer* clock,
                                const std::string& label) const {
  check("forward", x, "input", p.n);
  check("forward", y, "output", p.n);
  const bool drop = how.dropout.on();
  if (drop && (clock == nullptr || clock->size() < sizeof(ClockState))) {
    throw Error(fmt::format("{}: fused dropout needs the clock buffer", name_));
  }
  // AFFINE (11), RELU (12), EVAL (13: the spread is the running variance), the dropout (14..17).
  KernelDesc d = desc("norm_forward", 7, 0b1)
                     .constant("AFFINE", config_.affine)
                     .constant("RELU", config_.relu)
                     .constant("EVAL", how.eval);
  config_.dropout.add_constants(d, drop);
  graph.dispatch(
      kernel(forward_[how.eval ? 1 : 0][drop ? 1 : 0], d),
      {reads(x.buffer()), writes(y.buffer()), reads(*how.mean), reads(*how.spread),
       reads(affine_.gamma()), reads(affine_.beta()), reads(drop ? *clock : affine_.unused())},
      p, grid(p), label);
}

void NormPasses::record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor& dx,
                                 const NormPush& p, const Buffer* clock, Statistics given,
                                 const NormApply* mask, const NormStats& stats) const {
  check("backward", x, "input", p.n);
  check("backward", dy, "output gradient", p.n);
  check("backward", dx, "input gradient", p.n);
  const std::string kind = config_.kind;
  // norm_backward's AFFINE (11): scale g by gamma[c] here (GroupNorm); BatchNorm folds its
  // channel's gamma into the coefficients.
  const bool scale_by_gamma = config_.group_channels != 0 && config_.affine;
  const auto with_mask = [&](KernelDesc d) {
    if (mask != nullptr) mask->add_constants(d);
    return d;
  };
  if (given == Statistics::kCompute) {
    std::vector<Binding> sums{reads(x.buffer()), reads(dy.buffer())};
    add_norm_apply_bindings(sums, mask, clock, affine_.unused());
    stats.add_backward_bindings(sums);
    graph.dispatch(kernel(backward_sums_, with_mask(desc("norm_backward_sums", 17, 0b11))),
                   std::move(sums), p, grid(p), kind + "_backward_sums");
  }
  std::vector<Binding> back{reads(x.buffer()), reads(dy.buffer()), reads(affine_.gamma()),
                            reads(coef_), writes(dx.buffer())};
  add_norm_apply_bindings(back, mask, clock, affine_.unused());
  KernelDesc d = with_mask(desc("norm_backward", 11, 0b11).constant("AFFINE", scale_by_gamma));
  graph.dispatch(kernel(backward_[mask != nullptr ? 1 : 0], d), std::move(back), p, grid(p),
                 kind + "_backward");
}

}  // namespace vkm::nn
