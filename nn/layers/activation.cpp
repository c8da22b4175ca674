// Recording of the elementwise activations: size checks, push constants, grids.
#include "nn/layers/activation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>

#include "engine/error.hpp"
#include "nn/clock.hpp"

namespace vkm::nn {
namespace {

constexpr uint32_t kWorkgroup = 128;
constexpr uint32_t kPerInvocation = 16;  // elements each invocation loops over (lavapipe: amortise)
constexpr uint32_t kMaxGroups = 65535;   // the smallest maxComputeWorkGroupCount Vulkan allows

// Invocations for the grid-stride loop over `count` elements.
uint32_t grid(size_t count) {
  const size_t wanted = (count + kPerInvocation - 1) / kPerInvocation;
  return static_cast<uint32_t>(std::min<size_t>(wanted, size_t{kMaxGroups} * kWorkgroup));
}

// texel_reads: the bindings of the tensors of `input`'s size (or smaller) the kernel reads, made
// texel reads where the device can (Device::texel_reads_for).
KernelDesc desc(KernelCache& kernels, const char* shader, uint32_t push_bytes, uint32_t bindings,
                const Shape& input, uint32_t texel_reads) {
  return {
      .shader = shader,
      .local_size = {kWorkgroup, 1, 1},
      .push_constant_bytes = push_bytes,
      .bindings = bindings,
      .texel_reads = kernels.device().texel_reads_for(texel_reads, input.numel() * sizeof(float))};
}

// n in 1..N and every tensor holds n samples of the layer's per-sample size; returns the count.
uint32_t elements(const char* op, const Shape& input, uint32_t n,
                  std::initializer_list<const Tensor*> tensors) {
  if (n == 0 || n > input.n) {
    throw Error(fmt::format("{}: batch of {} (built for 1..{})", op, n, input.n));
  }
  for (const Tensor* t : tensors) {
    if (t->shape().sample() != input.sample() || t->shape().n < n) {
      throw Error(fmt::format("{}: tensor '{}' is {}, expected {} samples of [{}, {}, {}]", op,
                              t->name(), t->shape().str(), n, input.c, input.h, input.w));
    }
  }
  return static_cast<uint32_t>(n * input.sample());
}

}  // namespace

Relu::Relu(KernelCache& kernels, Shape input)
    : input_(input),
      forward_(&kernels.get(desc(kernels, "relu_forward", sizeof(ReluPush), 2, input, 0b01))),
      backward_(&kernels.get(desc(kernels, "relu_backward", sizeof(ReluPush), 3, input, 0b011))) {}

void Relu::record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n) const {
  const ReluPush p{elements("relu_forward", input_, n, {&x, &y})};
  graph.dispatch(*forward_, {reads(x.buffer()), writes(y.buffer())}, p, {grid(p.count), 1, 1},
                 "relu_forward");
}

void Relu::record_backward(Graph& graph, const Tensor& y, const Tensor& dy, const Tensor& dx,
                           uint32_t n) const {
  const ReluPush p{elements("relu_backward", input_, n, {&y, &dy, &dx})};
  graph.dispatch(*backward_, {reads(y.buffer()), reads(dy.buffer()), writes(dx.buffer())}, p,
                 {grid(p.count), 1, 1}, "relu_backward");
}

Dropout::Dropout(KernelCache& kernels, Shape input, float p, uint32_t salt)
    : input_(input),
      p_(p),
      salt_(salt),
      forward_(
          &kernels.get(desc(kernels, "dropout_forward", sizeof(DropoutPush), 3, input, 0b001))),
      backward_(
          &kernels.get(desc(kernels, "dropout_backward", sizeof(DropoutPush), 3, input, 0b001))) {
  if (!(p >= 0.0f && p < 1.0f)) {
    throw Error(fmt::format("dropout probability must be in [0, 1), got {}", p));
  }
}

void Dropout::record(Graph& graph, const Kernel& kernel, const char* label, const Tensor& in,
                     const Tensor& out, const Buffer& clock, uint32_t step, uint32_t n) const {
  const uint32_t count = elements(label, input_, n, {&in, &out});
  if (clock.size() < sizeof(ClockState)) {
    throw Error(fmt::format("{}: clock buffer '{}' holds {} bytes, a ClockState needs {}", label,
                            clock.name(), clock.size(), sizeof(ClockState)));
  }
  const DropoutPush push{count, step, salt_, p_,
                         static_cast<float>(1.0 / (1.0 - static_cast<double>(p_)))};
  graph.dispatch(kernel, {reads(in.buffer()), writes(out.buffer()), reads(clock)}, push,
                 {grid(count), 1, 1}, label);
}

void Dropout::record_forward(Graph& graph, const Tensor& x, const Tensor& y, const Buffer& clock,
                             uint32_t step, uint32_t n) const {
  record(graph, *forward_, "dropout_forward", x, y, clock, step, n);
}

void Dropout::record_backward(Graph& graph, const Tensor& dy, const Tensor& dx, const Buffer& clock,
                              uint32_t step, uint32_t n) const {
  record(graph, *backward_, "dropout_backward", dy, dx, clock, step, n);
}

}  // namespace vkm::nn
