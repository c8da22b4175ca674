// Conv2d: how the work is cut (channel tiles, window rows, lanes along the batch), the kernels,
// shape checks and recording.
#include "nn/layers/conv2d.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/error.hpp"

namespace vkm::nn {
namespace {

// Invocations per workgroup along x (the lanes are samples).
constexpr uint32_t kLanes = 16;
// Weights one invocation keeps in registers (the backward: as many again of weight sums), and rows
// per window step. Bigger tiles re-read the input fewer times and more rows load fewer window
// rows, but both grow the unrolled code: lavapipe's first compile of a kernel (cached on disk
// afterwards) takes about 2-3 s at these limits, 7-30 s at twice them.
constexpr uint32_t kMaxTileWeights = 576;
constexpr uint32_t kMaxWindowRows = 2;
// The backward updates each of its weight sums once per window step (on lavapipe a load and a
// store of a value that lives in memory, for ROWS FMAs) and loads the window of dy (with the
// output norm's input, where it applies that norm's backward) once per tile and step: more rows
// per step mean fewer of both but a longer unrolled body. Where the input has many rows, up to 4
// rows with tiles of at most 288 weights beat 2 rows with 576; elsewhere up to 3 rows with 576.
// Measured on the Xeon host of docs/bench (vkbench --sections kernels, batch 128, medians of 25,
// two runs each): conv1 0.59 vs 0.73-0.82 ms, conv2 2.95-3.05 vs 3.25-3.50, conv3 2.31-2.65 vs
// 2.85-2.98, but conv4 1.99-2.09 vs 1.77-1.81, conv5 3.18-3.23 vs 2.17-2.20; and in the training
// step (the output norm's backward applied), conv5 at 3 rows 3.09-3.38 vs 3.79-3.84 at 2.
constexpr uint32_t kTallInputRows = 16;
constexpr uint32_t kTallBackwardTileWeights = 288;
constexpr uint32_t kTallBackwardRows = 4;
constexpr uint32_t kBackwardRows = 3;
// The backward: at most this many lanes, each writing one set of weight sums for the update.
constexpr uint32_t kMaxWeightLanes = 64;
// On a CPU, a lane takes up to this many samples (loading the weights once for all of them)
// while each dispatch keeps at least kMinWorkgroups workgroups for the driver's threads.
constexpr uint32_t kMaxSamplesPerLane = 4;
constexpr uint32_t kMinWorkgroups = 8;
constexpr uint32_t kReduceWorkgroup = 64;
// The GPU shape's workgroup (at most the device's limit), and the invocations it wants a
// dispatch to offer: what fills a large GPU (a 132-SM card holds ~270,000 resident).
constexpr uint32_t kGpuWorkgroup = 256;
constexpr uint32_t kGpuInvocations = 16384;
// The most input floats the GPU-shaped forward stages in shared memory per workgroup (16 KiB).
constexpr uint64_t kMaxStagedFloats = 4096;

uint32_t ceil_div(uint32_t a, uint32_t b) {
  return (a + b - 1) / b;
}

// Rows per window step (1..max_rows): the fewest loads plus FMAs per output row, counting the rows
// of the last step that fall past the end. A load costs about as much as 25 FMAs on lavapipe.
uint32_t window_rows(uint32_t out_rows, uint32_t k, uint32_t tile, uint32_t max_rows) {
  uint32_t best = 1;
  uint64_t best_cost = UINT64_MAX;
  for (uint32_t rows = 1; rows <= std::min(max_rows, out_rows); ++rows) {
    const uint64_t cost =
        uint64_t{ceil_div(out_rows, rows)} * (25 * (rows + k - 1) + rows * tile * k * k);
    if (cost < best_cost) {
      best = rows;
      best_cost = cost;
    }
  }
  return best;
}

// How a tile of packed channels (NC4HW4: one vec4 per four) may be cut.
enum class Packing { kNone, kWholeGroups, kPartGroups };

// The largest divisor of `channels` whose tile of weights fits in registers. Packed, a multiple of
// 4, however many weights (kWholeGroups), or also 1 or 2 (kPartGroups: the backward, which picks
// its channels out of the group where a group's weights would not fit).
uint32_t channel_tile(uint32_t channels, uint32_t weights_per_channel, uint32_t max_weights,
                      Packing packing) {
  const auto allowed = [&](uint32_t t) {
    return packing == Packing::kNone || t % 4 == 0 ||
           (packing == Packing::kPartGroups && 4 % t == 0);
  };
  for (uint32_t t = channels; t > 1; --t) {
    if (channels % t == 0 && allowed(t) && t * weights_per_channel <= max_weights) return t;
  }
  return packing == Packing::kWholeGroups ? 4 : 1;
}

}  // namespace

Conv2d::Conv2d(Device& device, KernelCache& kernels, std::string name, Shape input, uint32_t c_out,
               uint32_t k, uint32_t pad)
    : device_(&device),
      kernels_(&kernels),
      name_(std::move(name)),
      input_(input),
      c_out_(c_out),
      k_(k),
      pad_(pad),
      cpu_(device.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU),
      gpu_shape_(device.kernel_shape() == KernelShape::kGpu),
      weight_(device, name_ + ".weight", Shape{c_out, input.c, k, k}),
      split_backward_(c_out > input.c) {
  if (input.n == 0 || input.c == 0 || input.h == 0 || input.w == 0 || c_out == 0 || k == 0) {
    throw Error(fmt::format("conv2d '{}': empty input {}, {} output channels or kernel {}", name_,
                            input.str(), c_out, k));
  }
  if (input.h + 2 * pad < k || input.w + 2 * pad < k) {
    throw Error(fmt::format("conv2d '{}': kernel {}x{} does not fit the input {} padded by {}",
                            name_, k, k, input.str(), pad));
  }
  const Shape out = output_shape();
  packed_in_ = activation_layout(input) == Layout::kNC4HW4;
  packed_out_ = activation_layout(out) == Layout::kNC4HW4;
  const auto plan = [&](uint32_t channels, uint32_t weights_per_channel, uint32_t out_rows,
                        uint32_t max_lanes, Packing packing, uint32_t max_weights,
                        uint32_t max_rows) {
    const uint32_t tile = channel_tile(channels, weights_per_channel, max_weights, packing);
    return Plan{tile, channels / tile, window_rows(out_rows, k, tile, max_rows), max_lanes};
  };
  forward_plan_ =
      plan(c_out, input.c * k * k, out.h, UINT32_MAX,
           packed_out_ ? Packing::kWholeGroups : Packing::kNone, kMaxTileWeights, kMaxWindowRows);
  if (split_backward_) {
    // dx alone (as many weights per tile as the fused kernel holds weights and sums together),
    // then the weight gradient walking dy in tiles of output channels.
    backward_plan_ = plan(input.c, c_out * k * k, input.h, UINT32_MAX,
                          packed_in_ ? Packing::kWholeGroups : Packing::kNone, 2 * kMaxTileWeights,
                          kMaxWindowRows);
    weight_plan_ =
        plan(c_out, input.c * k * k, out.h, kMaxWeightLanes,
             packed_out_ ? Packing::kWholeGroups : Packing::kNone, kMaxTileWeights, kMaxWindowRows);
    weight_plan_.fixed_lanes = true;
  } else {
    const bool tall = input.h >= kTallInputRows;
    backward_plan_ = plan(input.c, c_out * k * k, input.h, kMaxWeightLanes,
                          packed_in_ ? Packing::kPartGroups : Packing::kNone,
                          tall ? kTallBackwardTileWeights : kMaxTileWeights,
                          tall ? kTallBackwardRows : kBackwardRows);
    backward_plan_.fixed_lanes = true;
  }

  if (gpu_shape_) {
    gpu_forward_ = gpu_plan(out.h * out.w, c_out, input.c * k * k, packed_out_);
    // The samples' whole input planes staged in shared memory, each value loaded and normalized
    // once, where they fit beside the weights and the scratch, and within a quarter of a large
    // GPU's 64 KiB (kMaxStagedFloats) so that several workgroups stay resident.
    const GpuPlan& f = gpu_forward_;
    const uint64_t staged = uint64_t{f.samples} * input.c * input.h * input.w;
    const uint64_t used =
        uint64_t{f.tile} * input.c * k * k * sizeof(float) + uint64_t{f.slots} * f.samples * 16;
    if (staged <= kMaxStagedFloats &&
        used + staged * sizeof(float) <= device.info().shared_memory_bytes) {
      gpu_forward_.staged = static_cast<uint32_t>(staged);
    }
    gpu_backward_ = gpu_plan(input.h * input.w, input.c, c_out * k * k, packed_in_);
    // Chunks of the batch until the dispatch offers kGpuInvocations, each chunk a lane of the
    // weight partials (so a chunk of one sample at most).
    const uint32_t invocations = ceil_div(c_out * input.c * k * k, kGpuWorkgroup) * kGpuWorkgroup;
    while (gpu_weight_.chunks < input.n && invocations * gpu_weight_.chunks < kGpuInvocations) {
      gpu_weight_.chunks *= 2;
    }
    gpu_weight_.samples = ceil_div(input.n, gpu_weight_.chunks);
    gpu_weight_.chunks = ceil_div(input.n, gpu_weight_.samples);
  }

  const size_t partial_bytes = weight_partials().bytes;
  partials_ = device.buffer(partial_bytes, name_ + ".weight partials");
  backward_weight_reduce_ =
      &kernels.get({.shader = "conv2d_backward_weight_reduce",
                    .local_size = {kReduceWorkgroup, 1, 1},
                    .push_constant_bytes = sizeof(Conv2dBackwardWeightReducePush),
                    .bindings = 2,
                    .texel_reads = device.texel_reads_for(0b01, partial_bytes)});
  device.fill(weight_.value.buffer(), 0);
  unused_ = device.buffer(16, name_ + " unused");
}

// The GPU shape: a sample's pixels across up to a workgroup of invocations (a power of two),
// several samples per workgroup where their planes are small; then channels split into tiles
// (keeping whole groups of four where packed) until the dispatch, at the built batch, offers
// kGpuInvocations or a tile cannot be split further. The tile's weights and the workgroup's
// reduction scratch must fit in shared memory.
Conv2d::GpuPlan Conv2d::gpu_plan(uint32_t plane, uint32_t channels, uint32_t weights_per_channel,
                                 bool packed) const {
  const DeviceInfo& info = device_->info();
  const uint32_t workgroup = std::min<uint32_t>(kGpuWorkgroup, info.max_workgroup_invocations);
  GpuPlan g;
  while (g.slots < workgroup && g.slots < plane) g.slots *= 2;
  g.samples = workgroup / g.slots;
  g.pixels = ceil_div(plane, g.slots);
  const auto fits = [&](uint32_t tile) {
    const uint64_t bytes = uint64_t{tile} * weights_per_channel * sizeof(float) + workgroup * 16;
    return bytes <= info.shared_memory_bytes;
  };
  const auto splits = [&](uint32_t tile) {
    return tile % 2 == 0 && (!packed || (tile / 2) % 4 == 0);
  };
  g.tile = channels;
  const uint64_t invocations = uint64_t{ceil_div(input_.n, g.samples)} * workgroup;
  while (splits(g.tile) && (!fits(g.tile) || invocations * (channels / g.tile) < kGpuInvocations)) {
    g.tile /= 2;
  }
  if (!fits(g.tile)) {
    throw Error(fmt::format(
        "conv2d '{}': a tile of {} weights does not fit the device's {} bytes of shared memory",
        name_, g.tile * weights_per_channel, info.shared_memory_bytes));
  }
  g.tiles = channels / g.tile;
  return g;
}

// The constants shaders/conv2d_{forward,backward}.comp declare; the GPU shape's kernels have no
// ROWS (their plans' rows are 0), the weight gradient's no tile (tile_name null), and add their
// own.
// The activations (x, dy) are read through texel buffers where the device offers them and
// they fit; the weights stay storage buffers (read once per invocation at uniform addresses).
KernelDesc Conv2d::kernel_desc(const char* shader, const char* tile_name, const Plan& p,
                               uint32_t texel_reads, uint32_t bindings) const {
  const bool texel = device_->texel_readable(input_.numel() * sizeof(float)) &&
                     device_->texel_readable(output_shape().numel() * sizeof(float));
  KernelDesc d{.shader = shader,
               .local_size = {kLanes, 1, 1},
               .push_constant_bytes = sizeof(Conv2dPush),
               .bindings = bindings,
               .texel_reads = texel ? texel_reads : 0u,
               .texel_vec4 = texel && device_->texel_vec4_reads()};
  d.constant("C_IN", input_.c)
      .constant("C_OUT", c_out_)
      .constant("K", k_)
      .constant("PACKED_IN", packed_in_)
      .constant("PACKED_OUT", packed_out_);
  if (tile_name != nullptr) d.constant(tile_name, p.tile);
  if (p.rows != 0) d.constant("ROWS", p.rows);
  return d;
}

void Conv2d::apply_input_norm(const NormApply& train, const NormApply& eval) {
  input_norm_ = InputNorm{train, eval};
  for (auto& row : forward_) row[0] = row[1] = nullptr;
  backward_[0] = backward_[1] = backward_dx_ = backward_weight_ = nullptr;
}

void Conv2d::apply_output_norm(const NormStats& stats) {
  if (!stats.present())
    throw Error(fmt::format("conv2d '{}': an output norm without statistics", name_));
  output_norm_ = stats;
  backward_[0] = backward_[1] = backward_dx_ = backward_weight_ = nullptr;
}

// Without an input norm, the bindings from norm_apply.glsl's NA_BINDING (forward 3, backward 4)
// are placeholders; so are norm_finalize.glsl's (forward 9, backward 10) where no statistics are
// finished, and norm_gradient.glsl's (backward 19) without an output norm.
const Kernel& Conv2d::kernel(const Kernel*& slot, KernelDesc desc, const NormApply* apply) const {
  if (slot == nullptr) {
    if (apply != nullptr) apply->add_constants(desc);
    slot = &kernels_->get(desc);
  }
  return *slot;
}

Shape Conv2d::output_shape() const {
  return {input_.n, c_out_, input_.h + 2 * pad_ - k_ + 1, input_.w + 2 * pad_ - k_ + 1};
}

// Lanes along the batch for n samples: one per sample up to the plan's cap; on a CPU, fewer
// lanes with up to kMaxSamplesPerLane samples each while the dispatch (lanes x tiles) keeps
// kMinWorkgroups workgroups.
Conv2dPush Conv2d::push(const Plan& plan, uint32_t n) const {
  const uint32_t lane_samples = plan.fixed_lanes ? input_.n : n;
  uint32_t groups = ceil_div(std::min(lane_samples, plan.max_lanes), kLanes);
  while (cpu_ && groups > 1) {
    const uint32_t fewer = ceil_div(groups, 2);
    if (fewer * plan.tiles < kMinWorkgroups ||
        ceil_div(lane_samples, fewer * kLanes) > kMaxSamplesPerLane)
      break;
    groups = fewer;
  }
  const uint32_t lanes = groups * kLanes;
  return {n, ceil_div(n, lanes), lanes, input_.h, input_.w, pad_, 0};
}

WeightPartials Conv2d::weight_partials() const {
  const uint32_t row = input_.c * k_ * k_;
  if (gpu_shape_) {  // conv2d_backward_weight_gpu.comp: a lane per chunk of the batch, one tile
    const uint32_t stride = ceil_div(c_out_ * row, 4) * 4;
    return {gpu_weight_.chunks, row, row, stride,
            size_t{gpu_weight_.chunks} * stride * sizeof(float)};
  }
  if (split_backward_) {  // conv2d_backward_weight.comp: one tile of every input channel
    const uint32_t lanes = push(weight_plan_, input_.n).lanes;
    const uint32_t stride = ceil_div(c_out_ * row, 4) * 4;
    return {lanes, row, row, stride, size_t{lanes} * stride * sizeof(float)};
  }
  const uint32_t tile = backward_plan_.tile * k_ * k_;
  const uint32_t lanes = push(backward_plan_, input_.n).lanes;
  const uint32_t stride = ceil_div(c_out_ * tile, 4) * 4;
  return {lanes, row, tile, stride, size_t{backward_plan_.tiles} * lanes * stride * sizeof(float)};
}

uint64_t Conv2d::forward_macs(uint32_t n) const {
  const Shape out = output_shape();
  return uint64_t{n} * c_out_ * out.h * out.w * input_.c * k_ * k_;
}

void Conv2d::share_weight_partials(Buffer view) {
  if (view.size() < weight_partials().bytes) {
    throw Error(fmt::format("conv2d '{}': a weight-partials view of {} bytes, {} needed", name_,
                            view.size(), weight_partials().bytes));
  }
  partials_ = std::move(view);
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
  if (t.layout() != activation_layout(want)) {
    throw Error(fmt::format("{} '{}': {} '{}' is not in the layout of an activation of its shape",
                            op, name_, role, t.name()));
  }
}

void Conv2d::record_forward(Graph& graph, const Tensor& x, const Tensor& y, uint32_t n,
                            const NormStats* stats, const InputNormStep& in) const {
  check("conv2d_forward", "input", x, input_, n);
  check("conv2d_forward", "output", y, output_shape(), n);
  if (stats != nullptr && !stats->present()) stats = nullptr;
  if (stats != nullptr && stats->partials->size() < size_t{n} * c_out_ * 2 * sizeof(float)) {
    throw Error(
        fmt::format("conv2d_forward '{}': statistics buffer '{}' holds {} bytes, {} samples "
                    "of {} channels need {}",
                    name_, stats->partials->name(), stats->partials->size(), n, c_out_,
                    size_t{n} * c_out_ * 2 * sizeof(float)));
  }
  std::vector<Binding> bindings{reads(x.buffer()), reads(weight_.value.buffer()),
                                writes(y.buffer())};
  add_norm_apply_bindings(bindings, input_norm(in), in.clock, unused_);
  add_forward_stats_bindings(bindings, stats, unused_);
  const Shape out = output_shape();
  if (gpu_shape_) {
    const GpuPlan& g = gpu_forward_;
    const Conv2dPush push_constants{n, 1, n, input_.h, input_.w, pad_, in.step};
    KernelDesc desc =
        kernel_desc("conv2d_forward_gpu", "CO_TILE", Plan{g.tile, g.tiles, 0, 0}, 0b001, 16);
    desc.local_size = {g.slots * g.samples, 1, 1};
    desc.constant("SLOTS", g.slots).constant("PIX", g.pixels);
    if (stats != nullptr) desc.constant("STATS", true);
    if (g.staged > 0) desc.constant("STAGE_IN", true).constant("STAGE_FLOATS", g.staged);
    const Kernel& forward = kernel(
        forward_[input_norm_ && !in.train ? 1 : 0][stats != nullptr ? 1 : 0], desc, input_norm(in));
    graph.dispatch(forward, std::move(bindings), push_constants,
                   {ceil_div(n, g.samples) * g.slots * g.samples, g.tiles, 1},
                   "conv2d_forward " + name_);
    graph.describe_work(forward_macs(n), uint64_t{g.pixels} * g.tile * input_.c * k_ * k_);
    return;
  }
  const Plan& p = forward_plan_;
  Conv2dPush push_constants = push(p, n);
  push_constants.step = in.step;
  KernelDesc desc = kernel_desc("conv2d_forward", "CO_TILE", p, 0b001, 16);
  if (stats != nullptr) desc.constant("STATS", true);
  const Kernel& forward = kernel(
      forward_[input_norm_ && !in.train ? 1 : 0][stats != nullptr ? 1 : 0], desc, input_norm(in));
  graph.dispatch(forward, std::move(bindings), push_constants, {push_constants.lanes, p.tiles, 1},
                 "conv2d_forward " + name_);
  // One invocation: its samples' output planes for its tile of channels.
  graph.describe_work(forward_macs(n), uint64_t{push_constants.samples_per_lane} * p.tile * out.h *
                                           out.w * input_.c * k_ * k_);
}

// The GPU shape's backward: dx (conv2d_backward_gpu.comp, pixels across invocations) where asked
// for, then the weight gradient (conv2d_backward_weight_gpu.comp, a weight per invocation, the
// batch in chunks), with the same bindings as the CPU shape's kernels.
void Conv2d::record_backward_gpu(
    Graph& graph, const Tensor& x, const Tensor& dy, const Tensor* dx, uint32_t n,
    const InputNormStep& in,
    const std::function<void(std::vector<Binding>&)>& add_output_norm) const {
  if (dx != nullptr) {
    const GpuPlan& g = gpu_backward_;
    const Conv2dPush push_constants{n, 1, n, input_.h, input_.w, pad_, in.step};
    std::vector<Binding> bindings{reads(dy.buffer()), reads(weight_.value.buffer()),
                                  writes(dx->buffer()), reads(x.buffer())};
    add_norm_apply_bindings(bindings, input_norm(in), in.clock, unused_);
    add_backward_stats_bindings(bindings, input_norm_ ? &input_norm_->train.stats : nullptr,
                                unused_);
    add_output_norm(bindings);
    bindings.push_back(reads(unused_));
    KernelDesc desc = kernel_desc("conv2d_backward_gpu", "CI_TILE", Plan{g.tile, g.tiles, 0, 0},
                                  0b1001 | 1u << 19, 24);
    desc.local_size = {g.slots * g.samples, 1, 1};
    desc.constant("SLOTS", g.slots).constant("PIX", g.pixels);
    if (output_norm_) desc.constant("NG_ON", true);
    const Kernel& backward = kernel(backward_dx_, desc, input_norm(in));
    graph.dispatch(backward, std::move(bindings), push_constants,
                   {ceil_div(n, g.samples) * g.slots * g.samples, g.tiles, 1},
                   "conv2d_backward " + name_);
    graph.describe_work(forward_macs(n), uint64_t{g.pixels} * g.tile * c_out_ * k_ * k_);
  }
  const GpuWeightPlan& g = gpu_weight_;
  const Conv2dPush push_constants{n, g.samples, g.chunks, input_.h, input_.w, pad_, in.step};
  std::vector<Binding> bindings{reads(x.buffer()), reads(dy.buffer()), writes(partials_)};
  add_norm_apply_bindings(bindings, input_norm(in), in.clock, unused_);
  add_output_norm(bindings);
  const uint32_t weights = c_out_ * input_.c * k_ * k_;
  KernelDesc desc = kernel_desc("conv2d_backward_weight_gpu", nullptr, Plan{c_out_, 1, 0, 0},
                                0b011 | 1u << 9, 13);
  desc.local_size = {kGpuWorkgroup, 1, 1};
  desc.constant("STRIDE", weight_partials().stride);
  if (output_norm_) desc.constant("NG_ON", true);
  const Kernel& weight = kernel(backward_weight_, desc, input_norm(in));
  graph.dispatch(weight, std::move(bindings), push_constants, {weights, g.chunks, 1},
                 "conv2d_backward_weight " + name_);
  const Shape out = output_shape();
  graph.describe_work(forward_macs(n), uint64_t{g.samples} * out.h * out.w);
}

void Conv2d::record_backward(Graph& graph, const Tensor& x, const Tensor& dy, const Tensor* dx,
                             uint32_t n, bool reduce_weight, const InputNormStep& in,
                             const Tensor* y) const {
  check("conv2d_backward", "input", x, input_, n);
  check("conv2d_backward", "output gradient", dy, output_shape(), n);
  if (output_norm_) {
    if (y == nullptr) {
      throw Error(
          fmt::format("conv2d_backward '{}': the output norm's backward needs the output", name_));
    }
    check("conv2d_backward", "output", *y, output_shape(), n);
  }
  // norm_gradient.glsl's bindings: the output, the norm's coefficients, gamma and parameters.
  const auto add_output_norm = [&](std::vector<Binding>& bindings) {
    if (!output_norm_) {
      for (int i = 0; i < 4; ++i) bindings.push_back(reads(unused_));
      return;
    }
    bindings.push_back(reads(y->buffer()));
    bindings.push_back(reads(*output_norm_->coef));
    bindings.push_back(reads(*output_norm_->gamma));
    bindings.push_back(reads(*output_norm_->params));
  };
  if (input_norm_ && !in.train) {
    throw Error(fmt::format("conv2d_backward '{}': backward needs the training input norm", name_));
  }
  if (dx != nullptr) check("conv2d_backward", "input gradient", *dx, input_, n);
  if (dx != nullptr && input_norm_ && !input_norm_->train.stats.present())
    throw Error(fmt::format("conv2d_backward '{}': the input norm has no statistics", name_));
  if (gpu_shape_) {
    record_backward_gpu(graph, x, dy, dx, n, in, add_output_norm);
  } else if (dx != nullptr || !split_backward_) {
    const Plan& p = backward_plan_;
    Conv2dPush push_constants = push(p, n);
    push_constants.step = in.step;
    std::vector<Binding> bindings{reads(dy.buffer()), reads(weight_.value.buffer()),
                                  dx != nullptr ? writes(dx->buffer()) : reads(unused_),
                                  reads(x.buffer())};
    add_norm_apply_bindings(bindings, input_norm(in), in.clock, unused_);
    add_backward_stats_bindings(
        bindings, input_norm_ && dx != nullptr ? &input_norm_->train.stats : nullptr, unused_);
    add_output_norm(bindings);
    bindings.push_back(split_backward_ ? reads(unused_) : writes(partials_));
    KernelDesc desc = kernel_desc("conv2d_backward", "CI_TILE", p, 0b1001 | 1u << 19, 24);
    if (output_norm_) desc.constant("NG_ON", true);
    if (dx == nullptr) desc.constant("DX_ON", false);
    if (split_backward_) desc.constant("DW_ON", false);
    const Kernel& backward = kernel(
        split_backward_ ? backward_dx_ : backward_[dx != nullptr ? 1 : 0], desc, input_norm(in));
    graph.dispatch(backward, std::move(bindings), push_constants,
                   {push_constants.lanes, p.tiles, 1}, "conv2d_backward " + name_);
    // Each gradient it computes takes the forward's multiply-adds; one invocation walks its
    // samples' input planes for its tile of input channels, every output channel's window at each.
    const uint64_t gradients = (dx != nullptr ? 1 : 0) + (split_backward_ ? 0 : 1);
    const uint64_t per_input = uint64_t{c_out_} * k_ * k_ * input_.h * input_.w;
    graph.describe_work(gradients * forward_macs(n),
                        gradients * push_constants.samples_per_lane * p.tile * per_input);
  }
  if (split_backward_ && !gpu_shape_) {
    const Plan& p = weight_plan_;
    Conv2dPush push_constants = push(p, n);
    push_constants.step = in.step;
    std::vector<Binding> bindings{reads(x.buffer()), reads(dy.buffer()), writes(partials_)};
    add_norm_apply_bindings(bindings, input_norm(in), in.clock, unused_);
    add_output_norm(bindings);
    KernelDesc desc = kernel_desc("conv2d_backward_weight", "CO_TILE", p, 0b011 | 1u << 9, 13);
    desc.constant("STRIDE", weight_partials().stride);
    if (output_norm_) desc.constant("NG_ON", true);
    const Kernel& weight = kernel(backward_weight_, desc, input_norm(in));
    graph.dispatch(weight, std::move(bindings), push_constants, {push_constants.lanes, p.tiles, 1},
                   "conv2d_backward_weight " + name_);
    const Shape out = output_shape();
    graph.describe_work(forward_macs(n), uint64_t{push_constants.samples_per_lane} * p.tile *
                                             out.h * out.w * input_.c * k_ * k_);
  }
  if (!reduce_weight) return;
  const uint32_t count = static_cast<uint32_t>(weight_.grad.numel());
  const WeightPartials w = weight_partials();
  graph.dispatch(*backward_weight_reduce_, {reads(partials_), writes(weight_.grad.buffer())},
                 Conv2dBackwardWeightReducePush{count, w.lanes, w.row, w.tile, w.stride},
                 {count, 1, 1}, "conv2d_backward_weight_reduce " + name_);
}

}  // namespace vkm::nn
