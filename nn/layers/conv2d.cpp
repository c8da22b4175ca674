// Conv2d: tiling choices, kernels (one per direction, the layer's shapes as specialization
// constants), shape checks and recording.
#include "nn/layers/conv2d.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "engine/error.hpp"
#include "nn/reference/rng.hpp"

namespace vkm::nn {
namespace {

// Invocations per workgroup along x: the lanes are samples.
constexpr uint32_t kLanes = 16;
// Weights (forward, backward input) or weight sums (backward weight) one invocation keeps in
// registers. Bigger tiles re-read the input fewer times but compile slower and spill more.
constexpr uint32_t kMaxTileWeights = 1152;
// Backward weight: invocations along the batch, each walking ceil(n / lanes) samples and writing
// one set of partial sums. Few enough that the partial sums stay small, enough to fill a CPU.
constexpr uint32_t kMaxWeightLanes = 64;
constexpr uint32_t kReduceWorkgroup = 64;

// The largest divisor of `channels` whose tile of weights fits in registers.
uint32_t channel_tile(uint32_t channels, uint32_t weights_per_channel) {
  for (uint32_t t = channels; t > 1; --t) {
    if (channels % t == 0 && t * weights_per_channel <= kMaxTileWeights) return t;
  }
  return 1;
}

// Stable per-name random stream (FNV-1a), so layers initialised with one seed differ.
uint32_t stream_of(const std::string& name) {
  uint32_t h = 2166136261u;
  for (unsigned char ch : name) h = (h ^ ch) * 16777619u;
  return h;
}

uint32_t ceil_div(uint32_t a, uint32_t b) {
  return (a + b - 1) / b;
}

}  // namespace

Conv2d::Conv2d(Device& device, KernelCache& kernels, std::string name, Shape input, uint32_t c_out,
               uint32_t k, uint32_t pad)
    : name_(std::move(name)),
      input_(input),
      c_out_(c_out),
      k_(k),
      pad_(pad),
      weight_(device, name_ + ".weight", Shape{c_out, input.c, k, k}) {
  if (input.n == 0 || input.c == 0 || input.h == 0 || input.w == 0 || c_out == 0 || k == 0) {
    throw Error(fmt::format("conv2d '{}': empty input {} or {} output channels or kernel {}", name_,
                            input.str(), c_out, k));
  }
  if (input.h + 2 * pad < k || input.w + 2 * pad < k) {
    throw Error(fmt::format("conv2d '{}': kernel {}x{} does not fit the input {} padded by {}",
                            name_, k, k, input.str(), pad));
  }
  const Shape out = output_shape();
  // One band of rows per workgroup on a CPU (each workgroup is a thread's whole job: fewer weight
  // loads); one window step per workgroup elsewhere, for parallelism.
  const bool cpu = device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  const auto plan = [&](uint32_t channels, uint32_t weights_per_channel, uint32_t out_rows) {
    const uint32_t rows = k > 1 ? std::min(2u, out_rows) : 1u;
    return Plan{channel_tile(channels, weights_per_channel), rows, cpu ? out_rows : rows};
  };
  forward_plan_ = plan(c_out, input.c * k * k, out.h);
  input_plan_ = plan(input.c, c_out * k * k, input.h);
  weight_plan_ = plan(c_out, input.c * k * k, out.h);

  // Ids 10..18 as declared in shaders/conv2d_{forward,backward_input,backward_weight}.comp.
  const auto desc = [&](const char* shader, uint32_t push_bytes, const char* tile_name,
                        const Plan& p) {
    KernelDesc d{.shader = shader,
                 .local_size = {kLanes, 1, 1},
                 .push_constant_bytes = push_bytes,
                 .bindings = 3};
    d.constant(10, "C_IN", input.c)
        .constant(11, "C_OUT", c_out)
        .constant(12, "H", input.h)
        .constant(13, "W", input.w)
        .constant(14, "K", k)
        .constant(15, "PAD", pad)
        .constant(16, tile_name, p.tile)
        .constant(17, "ROWS", p.rows);
    return d;
  };
  forward_ = &kernels.get(desc("conv2d_forward", sizeof(Conv2dPush), "CO_TILE", forward_plan_)
                              .constant(18, "BAND", forward_plan_.band));
  backward_input_ =
      &kernels.get(desc("conv2d_backward_input", sizeof(Conv2dPush), "CI_TILE", input_plan_)
                       .constant(18, "BAND", input_plan_.band));
  backward_weight_ = &kernels.get(
      desc("conv2d_backward_weight", sizeof(Conv2dBackwardWeightPush), "CO_TILE", weight_plan_));
  backward_weight_reduce_ =
      &kernels.get({.shader = "conv2d_backward_weight_reduce",
                    .local_size = {kReduceWorkgroup, 1, 1},
                    .push_constant_bytes = sizeof(Conv2dBackwardWeightReducePush),
                    .bindings = 2});
  partials_ = device.buffer(size_t{max_weight_lanes()} * weight_.value.numel() * sizeof(float),
                            name_ + ".weight partials");
  reset_parameters(0);
}

uint32_t Conv2d::max_weight_lanes() const {
  return std::min(ceil_div(input_.n, kLanes) * kLanes, kMaxWeightLanes);
}

Shape Conv2d::output_shape() const {
  return {input_.n, c_out_, input_.h + 2 * pad_ - k_ + 1, input_.w + 2 * pad_ - k_ + 1};
}

void Conv2d::reset_parameters(uint32_t seed) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(input_.c * k_ * k_));
  std::vector<float> values(weight_.value.numel());
  const uint32_t stream = stream_of(weight_.name);
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] =
        (2.0f * reference::rng_uniform(seed, stream, static_cast<uint32_t>(i)) - 1.0f) * bound;
  }
  weight_.value.upload(values);
}

void Conv2d::check(const char* op, const char* role, const Tensor& t, const Shape& want,
                   uint32_t n) const {
  if (n == 0 || n > input_.n) {
    throw Error(fmt::format("{} '{}': batch of {} (built for 1..{})", op, name_, n, input_.n));
  }
  const Shape& s = t.shape();
  if (s.c != want.c || s.h != want.h || s.w != want.w || s.n < n) {
    throw Error(fmt::format("{} '{}': {} '{}' is {}, expected {} samples of [{}, {}, {}]", op,
                            name_, role, t.name(), s.str(), n, want.c, want.h, want.w));
  }
}

void Conv2d::record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n) const {
  const Shape out = output_shape();
  check("conv2d_forward", "input", x, input_, n);
  check("conv2d_forward", "output", y, out, n);
  const Plan& p = forward_plan_;
  graph.dispatch(*forward_, {reads(x.buffer()), reads(weight_.value.buffer()), writes(y.buffer())},
                 Conv2dPush{n}, {n, c_out_ / p.tile, ceil_div(out.h, p.band)},
                 "conv2d_forward " + name_);
}

void Conv2d::record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor* dx,
                             uint32_t n) const {
  const Shape out = output_shape();
  check("conv2d_backward", "input", x, input_, n);
  check("conv2d_backward", "output gradient", dy, out, n);
  if (dx != nullptr) {
    check("conv2d_backward", "input gradient", *dx, input_, n);
    const Plan& p = input_plan_;
    graph.dispatch(*backward_input_,
                   {reads(dy.buffer()), reads(weight_.value.buffer()), writes(dx->buffer())},
                   Conv2dPush{n}, {n, input_.c / p.tile, ceil_div(input_.h, p.band)},
                   "conv2d_backward_input " + name_);
  }
  const uint32_t lanes = std::min(ceil_div(n, kLanes) * kLanes, max_weight_lanes());
  const Conv2dBackwardWeightPush push{n, ceil_div(n, lanes), lanes};
  graph.dispatch(*backward_weight_, {reads(x.buffer()), reads(dy.buffer()), writes(partials_)},
                 push, {lanes, c_out_ / weight_plan_.tile, 1}, "conv2d_backward_weight " + name_);
  const uint32_t count = static_cast<uint32_t>(weight_.grad.numel());
  graph.dispatch(*backward_weight_reduce_, {reads(partials_), writes(weight_.grad.buffer())},
                 Conv2dBackwardWeightReducePush{count, lanes}, {count, 1, 1},
                 "conv2d_backward_weight_reduce " + name_);
}

}  // namespace vkm::nn
