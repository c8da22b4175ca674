// GroupNorm: kernels, buffers, shape checks and the recorded passes.
#include "nn/layers/groupnorm.hpp"

#include <fmt/format.h>

#include <optional>
#include <vector>

#include "engine/error.hpp"
#include "nn/clock.hpp"

namespace vkm::nn {
namespace {

constexpr uint32_t kWorkgroup = 64;

// texel_reads: the bindings of the [N, C, H, W] tensors the kernel reads (x, y, dy).
// texel_vec4: those tensors are whole vec4s (planes of a multiple of 4) and are read four floats
// per fetch.
KernelDesc desc(const char* shader, uint32_t bindings, uint32_t texel_reads = 0,
                bool texel_vec4 = false) {
  return {.shader = shader,
          .local_size = {kWorkgroup, 1, 1},
          .push_constant_bytes = sizeof(NormPush),
          .bindings = bindings,
          .texel_reads = texel_reads,
          .texel_vec4 = texel_reads != 0 && texel_vec4};
}

}  // namespace

GroupNorm::GroupNorm(Device& device, KernelCache& kernels, std::string name, Shape input,
                     uint32_t groups, bool affine, bool relu, FusedDropout dropout, float eps)
    : name_(std::move(name)),
      input_(input),
      groups_(groups),
      eps_(eps),
      relu_(relu),
      dropout_(dropout),
      affine_(device, name_, "groupnorm", input, kWorkgroup, affine) {
  if (groups == 0 || input.c % groups != 0) {
    throw Error(
        fmt::format("{}: {} groups do not divide {} channels (GroupNorm needs a group "
                    "count that divides the channel count)",
                    name_, groups, input.c));
  }
  if (dropout.on() && !relu)
    throw Error(fmt::format("{}: fused dropout needs the fused ReLU", name_));
  const size_t segments = size_t{input.n} * groups;
  partials_ = device.buffer(size_t{input.n} * input.c * 2 * sizeof(float), name_ + " partials");
  save_mean_ = device.buffer(segments * sizeof(float), name_ + " save_mean");
  save_invstd_ = device.buffer(segments * sizeof(float), name_ + " save_invstd");
  coef_ = device.buffer(segments * 4 * sizeof(float), name_ + " dx coefficients");
  for (Buffer* counter : {&forward_counter_, &backward_counter_}) {
    *counter = device.buffer(sizeof(uint32_t), name_ + " workgroups done");
    device.fill(*counter, 0);
  }
  // The norm's parameters as data: for its readers (apply()) and its statistics' finish.
  apply_params_[0] = upload_norm_apply_params(device, describe(true), name_ + " params (train)");
  apply_params_[1] = upload_norm_apply_params(device, describe(false), name_ + " params (eval)");

  // Specialization constants (ids as in the shaders): VEC4 (10) when planes can be read as vec4,
  // AFFINE (11), RELU (12).
  // PACKED (19): NC4HW4 tensors (activation_layout), four planes per invocation.
  packed_ = activation_layout(input) == Layout::kNC4HW4;
  const bool vec4 = input.plane() % 4 == 0;
  const bool vec4_views = (vec4 || packed_) && device.texel_vec4_reads();
  const auto texel = [&](uint32_t bindings) {
    return device.texel_reads_for(bindings, input.numel() * sizeof(float));
  };
  forward_stats_ = &kernels.get(desc("norm_forward_stats", 8, texel(0b1), vec4_views)
                                    .constant(10, "VEC4", vec4)
                                    .constant(19, "PACKED", packed_));
  const auto forward = [&](bool drop) {
    KernelDesc d = desc("norm_forward", 7, texel(0b1), vec4_views)
                       .constant(10, "VEC4", vec4)
                       .constant(19, "PACKED", packed_)
                       .constant(11, "AFFINE", affine)
                       .constant(12, "RELU", relu);
    dropout.add_constants(d, drop);
    return d;
  };
  forward_ = &kernels.get(forward(false));
  forward_dropout_ = &kernels.get(forward(true));
  // With the ReLU fused, both backward passes recompute its mask (and dropout's) from x.
  KernelDesc sums = desc("norm_backward_sums", 17, texel(0b11), vec4_views)
                        .constant(10, "VEC4", vec4)
                        .constant(19, "PACKED", packed_);
  if (relu) apply(true).add_constants(sums);
  backward_sums_ = &kernels.get(sums);
  KernelDesc back = desc("norm_backward", 11, texel(0b11), vec4_views)
                        .constant(10, "VEC4", vec4)
                        .constant(19, "PACKED", packed_)
                        .constant(11, "AFFINE", affine);
  if (relu) apply(true).add_constants(back);
  backward_ = &kernels.get(back);
  // The gradient already through the ReLU and dropout (Statistics::kGiven): no mask.
  backward_given_ = relu ? &kernels.get(desc("norm_backward", 11, texel(0b11), vec4_views)
                                            .constant(10, "VEC4", vec4)
                                            .constant(19, "PACKED", packed_)
                                            .constant(11, "AFFINE", affine))
                         : backward_;
}

NormPush GroupNorm::push(uint32_t n) const {
  if (n == 0 || n > input_.n) {
    throw Error(fmt::format("{}: batch of {} (built for 1..{})", name_, n, input_.n));
  }
  const uint32_t plane = input_.h * input_.w;
  const uint32_t group_channels = input_.c / groups_;
  return {.n = n,
          .channels = input_.c,
          .plane = plane,
          .planes = n * input_.c,
          .groups = groups_,
          .group_channels = group_channels,
          .inv_count = static_cast<float>(1.0 / (static_cast<double>(group_channels) * plane)),
          .eps = eps_};
}

void GroupNorm::record_statistics(Graph& graph, const Tensor& x, uint32_t n,
                                  Statistics stats) const {
  const NormPush p = push(n);
  check("forward", x, "input", n);
  if (stats == Statistics::kGiven) return;  // the producer wrote and finished them
  std::vector<Binding> bindings{reads(x.buffer())};
  this->stats().add_forward_bindings(bindings);
  graph.dispatch(*forward_stats_, std::move(bindings), p, {packed_ ? p.planes / 4 : p.planes, 1, 1},
                 "groupnorm_forward_stats");
}

void GroupNorm::record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n,
                               const Buffer* clock, uint32_t step, Statistics stats) const {
  NormPush p = push(n);
  p.step = step;
  const bool drop = dropout_.on() && clock != nullptr;
  if (drop && clock->size() < sizeof(ClockState)) {
    throw Error(fmt::format("{}: clock buffer '{}' is too small", name_, clock->name()));
  }
  check("forward", y, "output", n);
  record_statistics(graph, x, n, stats);
  graph.dispatch(
      drop ? *forward_dropout_ : *forward_,
      {reads(x.buffer()), writes(y.buffer()), reads(save_mean_), reads(save_invstd_),
       reads(affine_.gamma()), reads(affine_.beta()), reads(drop ? *clock : affine_.unused())},
      p, {packed_ ? p.planes / 4 : p.planes, 1, 1}, "groupnorm_forward");
}

NormApply GroupNorm::apply(bool train) const {
  if (!relu_) throw Error(fmt::format("{}: only a norm with its ReLU fused can be applied", name_));
  return describe(train);
}

NormApply GroupNorm::describe(bool train) const {
  return {.group_channels = input_.c / groups_,
          .affine = affine_.affine(),
          .eval = false,  // a sample's own statistics, in eval too
          .eps = eps_,
          .dropout = train ? dropout_ : FusedDropout{},
          .mean = &save_mean_,
          .spread = &save_invstd_,
          .gamma = &affine_.gamma(),
          .beta = &affine_.beta(),
          .unused = &affine_.unused(),
          .params = &apply_params_[train ? 0 : 1],
          .stats = train ? stats() : NormStats{}};
}

NormStats GroupNorm::stats() const {
  return {.partials = &partials_,
          .forward_counter = &forward_counter_,
          .backward_counter = &backward_counter_,
          .params = &apply_params_[0],
          .mean = &save_mean_,
          .invstd = &save_invstd_,
          .running_mean = &affine_.unused(),
          .running_var = &affine_.unused(),
          .gamma = &affine_.gamma(),
          .dgamma = &affine_.dgamma(),
          .dbeta = &affine_.dbeta(),
          .coef = &coef_};
}

void GroupNorm::record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor& dx,
                                uint32_t n, const Buffer* clock, uint32_t step,
                                Statistics sums_given) const {
  NormPush p = push(n);
  p.step = step;
  check("backward", x, "input", n);
  check("backward", dy, "output gradient", n);
  check("backward", dx, "input gradient", n);
  std::vector<Binding> sums{reads(x.buffer()), reads(dy.buffer())};
  std::vector<Binding> back{reads(x.buffer()), reads(dy.buffer()), reads(affine_.gamma()),
                            reads(coef_), writes(dx.buffer())};
  const bool given = sums_given == Statistics::kGiven;
  // The mask is recomputed here unless the gradient came through it (kGiven).
  const std::optional<NormApply> mask =
      relu_ && !given ? std::optional<NormApply>(apply(true)) : std::nullopt;
  for (auto* b : {&sums, &back}) {
    add_norm_apply_bindings(*b, mask ? &*mask : nullptr, clock, affine_.unused());
  }
  if (!given) {  // else the producer of dy wrote and finished the sums
    stats().add_backward_bindings(sums);
    graph.dispatch(*backward_sums_, std::move(sums), p, {packed_ ? p.planes / 4 : p.planes, 1, 1},
                   "groupnorm_backward_sums");
  }
  graph.dispatch(given ? *backward_given_ : *backward_, std::move(back), p,
                 {packed_ ? p.planes / 4 : p.planes, 1, 1}, "groupnorm_backward");
}

}  // namespace vkm::nn
