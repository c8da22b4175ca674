// Recording of the pooling layers: shape checks, push constants, grids.
#include "nn/layers/pool.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "engine/error.hpp"

namespace vkm::nn {
namespace {

constexpr uint32_t kWorkgroup = 64;
constexpr uint32_t kGpuWorkgroup = 256;  // the GPU shape's, where planes are spread over it
constexpr uint32_t kMaxGroups = 65535;   // the smallest maxComputeWorkGroupCount Vulkan allows

uint32_t ceil_div(uint32_t a, uint32_t b) {
  return (a + b - 1) / b;
}

// Invocations for a grid-stride loop over `items` (rows or planes): one item each, the grid
// capped at kMaxGroups workgroups (beyond that, invocations loop).
uint32_t grid(size_t items) {
  return static_cast<uint32_t>(std::min<size_t>(items, size_t{kMaxGroups} * kWorkgroup));
}

// texel_reads: the bindings of the tensors of `input`'s size (or smaller) the kernel reads, made
// texel reads where the device can (Device::texel_reads_for).
// PACKED (id 10): the input is NC4HW4 (activation_layout), and the kernel works on vec4s of four
// channels. The tensors are whole vec4s (nn::Tensor), so they are read as rgba32f where the
// device allows: four floats per fetch.
KernelDesc desc(KernelCache& kernels, const char* shader, uint32_t push_bytes, uint32_t bindings,
                const Shape& input, uint32_t texel_reads) {
  const uint32_t texel =
      kernels.device().texel_reads_for(texel_reads, input.numel() * sizeof(float));
  KernelDesc d{.shader = shader,
               .local_size = {kWorkgroup, 1, 1},
               .push_constant_bytes = push_bytes,
               .bindings = bindings,
               .texel_reads = texel,
               .texel_vec4 = texel != 0 && kernels.device().texel_vec4_reads()};
  d.constant("PACKED", activation_layout(input) == Layout::kNC4HW4);
  return d;
}

// Channels as the kernels count them: fours where the input is packed.
uint32_t channel_units(const Shape& input) {
  return activation_layout(input) == Layout::kNC4HW4 ? input.c / 4 : input.c;
}

// The tensor must have the layer's per-sample shape and room for n samples.
void check(const char* layer, const char* role, const Tensor& t, const Shape& want, uint32_t n) {
  const Shape& s = t.shape();
  if (s.c != want.c || s.h != want.h || s.w != want.w || s.n < n) {
    throw Error(fmt::format("{}: {} '{}' is {}, expected {} samples of [{}, {}, {}]", layer, role,
                            t.name(), s.str(), n, want.c, want.h, want.w));
  }
  if (t.layout() != activation_layout(want)) {
    throw Error(fmt::format("{}: {} '{}' is not in the layout of an activation of its shape", layer,
                            role, t.name()));
  }
}

void check_batch(const char* layer, uint32_t n, uint32_t max_n) {
  if (n == 0 || n > max_n) {
    throw Error(fmt::format("{}: batch of {} (built for 1..{})", layer, n, max_n));
  }
}

// A pool's kernel, made on first use with its input norm's constants (where it applies one).
// `shape` adds the kernel-shape-dependent constants (and the workgroup) where there are some.
const Kernel& pool_kernel(KernelCache& kernels, const Kernel*& slot, const char* shader,
                          uint32_t push_bytes, uint32_t bindings, const Shape& input,
                          uint32_t texel_reads, const NormApply* apply,
                          const std::function<void(KernelDesc&)>& shape = {}) {
  if (slot == nullptr) {
    KernelDesc d = desc(kernels, shader, push_bytes, bindings, input, texel_reads);
    if (shape) shape(d);
    if (apply != nullptr) apply->add_constants(d);
    slot = &kernels.get(d);
  }
  return *slot;
}

}  // namespace

MaxPool2d::MaxPool2d(KernelCache& kernels, Shape input)
    : input_(input), kernels_(&kernels), unused_(kernels.device().buffer(16, "maxpool2d unused")) {
  if (input.h < 2 || input.w < 2) {
    throw Error(fmt::format("maxpool 2x2 needs an input of at least 2 x 2, got {}", input.str()));
  }
}

void MaxPool2d::apply_input_norm(const NormApply& train, const NormApply& eval) {
  input_norm_ = InputNorm{train, eval};
  forward_[0] = forward_[1] = backward_ = nullptr;
}

MaxPool2dPush MaxPool2d::push(uint32_t n, uint32_t step) const {
  const Shape out = output_shape();
  return {n * channel_units(input_) * out.h, input_.h, input_.w, out.h, out.w, step, input_.c};
}

void MaxPool2d::record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n,
                               const InputNormStep& in) const {
  check_batch("maxpool2d_forward", n, input_.n);
  check("maxpool2d_forward", "input", x, input_, n);
  check("maxpool2d_forward", "output", y, output_shape(), n);
  const MaxPool2dPush p = push(n, in.step);
  const NormApply* norm = input_norm_ ? &input_norm_->at(in) : nullptr;
  std::vector<Binding> bindings{reads(x.buffer()), writes(y.buffer())};
  add_norm_apply_bindings(bindings, norm, in.clock, unused_);
  // The GPU shape: an invocation per output instead of per output row.
  const bool elements = gpu_shape();
  const Kernel& kernel = pool_kernel(
      *kernels_, forward_[norm && !in.train ? 1 : 0], "maxpool2d_forward", sizeof(MaxPool2dPush), 8,
      input_, 0b01, norm, [&](KernelDesc& d) { d.constant("ELEMENTS", elements); });
  graph.dispatch(kernel, std::move(bindings), p,
                 {grid(size_t{p.rows} * (elements ? p.out_w : 1)), 1, 1}, "maxpool2d_forward");
}

void MaxPool2d::record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor& dx,
                                uint32_t n, const InputNormStep& in) const {
  check_batch("maxpool2d_backward", n, input_.n);
  check("maxpool2d_backward", "input", x, input_, n);
  check("maxpool2d_backward", "output gradient", dy, output_shape(), n);
  check("maxpool2d_backward", "input gradient", dx, input_, n);
  if (input_norm_ && !in.train) {
    throw Error("maxpool2d_backward: backward needs the training input norm");
  }
  const MaxPool2dPush p = push(n, in.step);
  const NormApply* norm = input_norm_ ? &input_norm_->train : nullptr;
  std::vector<Binding> bindings{reads(x.buffer()), reads(dy.buffer()), writes(dx.buffer())};
  add_norm_apply_bindings(bindings, norm, in.clock, unused_);
  add_backward_stats_bindings(bindings, norm ? &norm->stats : nullptr, unused_);
  // The GPU shape: a plane's windows across up to a workgroup of invocations (a power of two),
  // several planes per workgroup; the CPU shape: a plane per invocation.
  const uint32_t planes = p.rows / p.out_h;
  uint32_t slots = 1;
  while (gpu_shape() && slots < kGpuWorkgroup && slots < p.out_h * p.out_w) slots *= 2;
  const uint32_t workgroup = slots > 1 ? kGpuWorkgroup : kWorkgroup;
  const Kernel& kernel =
      pool_kernel(*kernels_, backward_, "maxpool2d_backward", sizeof(MaxPool2dPush), 18, input_,
                  0b011, norm, [&](KernelDesc& d) {
                    d.local_size = {workgroup, 1, 1};
                    d.constant("SLOTS", slots);
                  });
  const uint32_t groups = std::min(ceil_div(planes, workgroup / slots), kMaxGroups);
  graph.dispatch(kernel, std::move(bindings), p, {groups * workgroup, 1, 1}, "maxpool2d_backward");
}

AvgPoolGlobal::AvgPoolGlobal(KernelCache& kernels, Shape input)
    : input_(input), kernels_(&kernels) {
  if (input.plane() == 0)
    throw Error(fmt::format("global average pool of an empty plane: {}", input.str()));
  unused_ = kernels.device().buffer(16, "avgpool_global unused");
}

void AvgPoolGlobal::apply_input_norm(const NormApply& train, const NormApply& eval) {
  input_norm_ = InputNorm{train, eval};
  forward_[0] = forward_[1] = backward_ = nullptr;
}

AvgPoolGlobalPush AvgPoolGlobal::push(uint32_t n) const {
  const auto plane = static_cast<uint32_t>(input_.plane());
  return {n * channel_units(input_), plane, 1.0f / static_cast<float>(plane), 0, input_.c};
}

void AvgPoolGlobal::record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n,
                                   const InputNormStep& in) const {
  check_batch("avgpool_global_forward", n, input_.n);
  check("avgpool_global_forward", "input", x, input_, n);
  check("avgpool_global_forward", "output", y, output_shape(), n);
  AvgPoolGlobalPush p = push(n);
  p.step = in.step;
  const NormApply* norm = input_norm_ ? &input_norm_->at(in) : nullptr;
  std::vector<Binding> bindings{reads(x.buffer()), writes(y.buffer())};
  add_norm_apply_bindings(bindings, norm, in.clock, unused_);
  const Kernel& kernel =
      pool_kernel(*kernels_, forward_[norm && !in.train ? 1 : 0], "avgpool_global_forward",
                  sizeof(AvgPoolGlobalPush), 8, input_, 0b01, norm);
  graph.dispatch(kernel, std::move(bindings), p, {grid(p.planes), 1, 1}, "avgpool_global_forward");
}

void AvgPoolGlobal::record_backward(Graph& graph, const Tensor& x, const Tensor& dy,
                                    const Tensor& dx, uint32_t n, const InputNormStep& in) const {
  check_batch("avgpool_global_backward", n, input_.n);
  check("avgpool_global_backward", "input", x, input_, n);
  check("avgpool_global_backward", "output gradient", dy, output_shape(), n);
  check("avgpool_global_backward", "input gradient", dx, input_, n);
  if (input_norm_ && !in.train) {
    throw Error("avgpool_global_backward: backward needs the training input norm");
  }
  AvgPoolGlobalPush p = push(n);
  p.step = in.step;
  const NormApply* norm = input_norm_ ? &input_norm_->train : nullptr;
  std::vector<Binding> bindings{reads(dy.buffer()), writes(dx.buffer()),
                                reads(norm ? x.buffer() : unused_)};
  add_norm_apply_bindings(bindings, norm, in.clock, unused_);
  add_backward_stats_bindings(bindings, norm ? &norm->stats : nullptr, unused_);
  const Kernel& kernel = pool_kernel(*kernels_, backward_, "avgpool_global_backward",
                                     sizeof(AvgPoolGlobalPush), 18, input_, 0b101, norm);
  graph.dispatch(kernel, std::move(bindings), p, {grid(p.planes), 1, 1}, "avgpool_global_backward");
}

}  // namespace vkm::nn
