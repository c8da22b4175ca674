// FMA throughput and copy bandwidth: calibrated so each timed dispatch is long enough to measure,
// checked, then timed by GPU timestamps (median of the repeats).
#include "apps/vkbench/ceilings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>

#include "apps/vkbench/check.hpp"
#include "apps/vkbench/timing.hpp"
#include "engine/error.hpp"
#include "engine/graph.hpp"

namespace vkbench {

namespace {

struct FmaPush {
  uint32_t iterations;
  float a;
  float b;
  uint32_t count;
};
static_assert(sizeof(FmaPush) == 16, "mirrors Push in shaders/bench_fma_{scalar,vec4}.comp");

struct CopyPush {
  uint32_t count;      // vec4s
  uint32_t per_group;  // vec4s per workgroup
};
static_assert(sizeof(CopyPush) == 8, "mirrors Push in shaders/bench_copy.comp");

constexpr uint32_t kFmaWorkgroup = 64;
constexpr uint32_t kCopyWorkgroup = 256;
constexpr uint32_t kCopyBlock = 4096;       // vec4s per workgroup: 64 KiB, within a CPU core's L2
constexpr uint32_t kChains = 8;             // independent chains per invocation, as in the shaders
constexpr uint32_t kStepsPerIteration = 8;  // the shaders run every chain 4 times per loop
constexpr float kA = 0.999f;  // acc -> a * acc + b converges to b / (1 - a) = 1: no overflow,
constexpr float kB = 0.001f;  // no denormals, and float's rounding stays bounded

struct FmaVariant {
  const char* name;
  const char* shader;
  uint32_t width;  // floats per chain
};

// The shader's result for start pattern j (invocation i with i % 64 == j), on the host: the same
// chains with the same fused multiply-adds, summed in the same order.
double fma_expected(const FmaVariant& v, uint32_t j, uint32_t iterations) {
  const float s = static_cast<float>(j) * (1.0f / 64.0f);
  float lanes[kChains][4];
  const float lane_offsets[4] = {0.0f, 0.025f, 0.05f, 0.075f};
  const float chain_offsets[kChains] = {0.0f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f};
  for (uint32_t c = 0; c < kChains; ++c) {
    for (uint32_t l = 0; l < v.width; ++l) {
      const float base = v.width == 1 ? s : s + lane_offsets[l];
      lanes[c][l] = c == 0 ? base : base + chain_offsets[c];
    }
  }
  for (uint32_t t = 0; t < iterations * kStepsPerIteration; ++t) {
    for (uint32_t c = 0; c < kChains; ++c) {
      for (uint32_t l = 0; l < v.width; ++l) lanes[c][l] = std::fma(lanes[c][l], kA, kB);
    }
  }
  double sum = 0.0;
  for (uint32_t c = 0; c < kChains; ++c) {
    for (uint32_t l = 0; l < v.width; ++l) sum += lanes[c][l];
  }
  return sum;
}

Ceiling measure_fma(const BenchContext& ctx, const FmaVariant& v) {
  Ceiling c{
      .name = v.name,
      .unit = "GFLOP/s",
      .counts = fmt::format("{} independent {} FMA chains per invocation; an FMA counts 2 FLOP",
                            kChains, v.width == 1 ? "float" : "vec4")};
  const vkm::Kernel& kernel = ctx.kernels.get({.shader = v.shader,
                                               .local_size = {kFmaWorkgroup, 1, 1},
                                               .push_constant_bytes = sizeof(FmaPush),
                                               .bindings = 1});
  // A CPU runs each workgroup on one thread: a few hundred of them fill it. A GPU needs ~1M
  // invocations to keep every unit busy.
  const uint32_t count =
      ctx.is_cpu() ? 256 * kFmaWorkgroup : (ctx.settings.quick ? 1u << 16 : 1u << 20);
  vkm::Buffer out = ctx.device.buffer(size_t{count} * sizeof(float), std::string(v.name) + " out");
  const double target_ms = ctx.settings.quick ? 2.0 : 20.0;

  auto program_for = [&](uint32_t iterations) {
    vkm::Graph graph;
    graph.dispatch(kernel, {vkm::writes(out)}, FmaPush{iterations, kA, kB, count}, {count, 1, 1},
                   v.name);
    return std::make_unique<vkm::Program>(ctx.device, graph, vkm::RecordOptions{.profile = true});
  };
  // Calibrate: grow the iteration count until one dispatch takes about target_ms.
  uint32_t iterations = 64;
  std::unique_ptr<vkm::Program> program;
  for (int attempt = 0; attempt < 8; ++attempt) {
    program = program_for(iterations);
    program->run();
    const double ms = program->timings()[0].ms;
    if (ms >= 0.5 * target_ms || iterations >= (1u << 24)) break;
    const double grow = std::clamp(target_ms / std::max(ms, 1e-3), 2.0, 64.0);
    iterations = static_cast<uint32_t>(std::min(double{1u << 24}, iterations * grow));
  }
  program = program_for(iterations);
  ctx.device.fill(out, 0x7FC00000u);  // NaN: an unwritten result fails the check
  program->run();

  std::vector<float> got(count);
  ctx.device.download(out, std::as_writable_bytes(std::span(got)));
  std::vector<double> pattern(64);
  for (uint32_t j = 0; j < 64; ++j) pattern[j] = fma_expected(v, j, iterations);
  std::vector<double> want(count);
  for (uint32_t i = 0; i < count; ++i) want[i] = pattern[i % 64];
  Checker checker;
  checker.compare(v.name, got, want);
  c.check = checker.status();
  c.work = 2.0 * count * static_cast<double>(iterations) * kChains * v.width * kStepsPerIteration;
  if (checker.ok()) {
    std::vector<double> ms;
    for (const auto& run : profile_runs(*program, ctx.settings.warmup, ctx.settings.repeats))
      ms.push_back(run[0]);
    c.time = summarize(ms);
    if (c.time.median_ms <= 0.0) c.skipped = "the dispatch is below the timestamp resolution";
    c.value = c.work / (c.time.min_ms * 1e6);
  }
  return c;
}

// Bytes per copied buffer: well past any cache, within an eighth of the device's memory.
uint64_t copy_bytes(const BenchContext& ctx) {
  uint64_t bytes = ctx.settings.quick ? (8ull << 20)
                   : ctx.is_cpu()     ? (128ull << 20)
                                      : (256ull << 20);
  uint64_t largest = 0;
  for (const auto& h : ctx.device.info().heaps) {
    if (h.device_local) largest = std::max(largest, h.size);
  }
  if (largest > 0) bytes = std::min(bytes, largest / 8);
  return bytes / 16 * 16;
}

std::vector<Ceiling> measure_copies(const BenchContext& ctx) {
  const uint64_t bytes = copy_bytes(ctx);
  const std::string size = fmt::format("{} MiB", bytes >> 20);
  const std::string counts = fmt::format("bytes read + bytes written: 2 x {} per copy", size);
  Ceiling shader{
      .name = "copy_shader", .unit = "GB/s", .counts = "vec4 loads and stores; " + counts};
  Ceiling texel{.name = "copy_texel",
                .unit = "GB/s",
                .counts = "rgba32f texel-buffer loads, vec4 stores; " + counts};
  Ceiling transfer{.name = "copy_transfer", .unit = "GB/s", .counts = "vkCmdCopyBuffer; " + counts};
  shader.work = texel.work = transfer.work = 2.0 * static_cast<double>(bytes);

  const vkm::Buffer src = ctx.device.buffer(bytes, "copy source");
  const vkm::Buffer dst = ctx.device.buffer(bytes, "copy destination");
  std::vector<uint32_t> pattern(bytes / 4);
  for (size_t i = 0; i < pattern.size(); ++i)
    pattern[i] = static_cast<uint32_t>(i * 2654435761u) ^ 0x5bd1e995u;
  ctx.device.upload(src, std::as_bytes(std::span(pattern)));

  const auto vec4s = static_cast<uint32_t>(bytes / 16);
  const uint32_t groups = (vec4s + kCopyBlock - 1) / kCopyBlock;
  const auto copy_graph = [&](uint32_t texel_reads, const char* label) {
    const vkm::Kernel& kernel = ctx.kernels.get({.shader = "bench_copy",
                                                 .local_size = {kCopyWorkgroup, 1, 1},
                                                 .push_constant_bytes = sizeof(CopyPush),
                                                 .bindings = 2,
                                                 .texel_reads = texel_reads,
                                                 .texel_vec4 = texel_reads != 0});
    vkm::Graph g;
    g.dispatch(kernel, {vkm::reads(src), vkm::writes(dst)}, CopyPush{vec4s, kCopyBlock},
               {groups * kCopyWorkgroup, 1, 1}, label);
    return g;
  };
  vkm::Graph shader_graph = copy_graph(0, "copy_shader");
  vkm::Graph transfer_graph;
  transfer_graph.copy(src, dst, "copy_transfer");
  // Texel reads where the device offers them for a buffer this size (VKMNIST_NO_TEXEL_BUFFERS
  // does not apply: this measures the path, not the configuration).
  const bool texel_ok = ctx.device.info().rgba32f_storage_texel_buffers &&
                        bytes / 16 <= ctx.device.info().max_texel_buffer_elements;
  vkm::Graph texel_graph;
  if (texel_ok) {
    texel_graph = copy_graph(1, "copy_texel");
  } else {
    texel.skipped = "no r32f storage texel buffer of this size on the device";
  }

  std::vector<uint32_t> got(pattern.size());
  for (auto [ceiling, graph] : {std::pair{&shader, &shader_graph}, std::pair{&texel, &texel_graph},
                                std::pair{&transfer, &transfer_graph}}) {
    if (!ceiling->skipped.empty()) continue;
    vkm::Program program(ctx.device, *graph, vkm::RecordOptions{.profile = true});
    ctx.device.fill(dst, 0u);
    program.run();
    ctx.device.download(dst, std::as_writable_bytes(std::span(got)));
    Checker checker;
    if (std::memcmp(got.data(), pattern.data(), bytes) != 0)
      checker.fail("the copy differs from its source");
    ceiling->check = checker.status();
    if (!checker.ok()) continue;
    std::vector<double> ms;
    for (const auto& run : profile_runs(program, ctx.settings.warmup, ctx.settings.repeats))
      ms.push_back(run[0]);
    ceiling->time = summarize(ms);
    if (ceiling->time.median_ms <= 0.0)
      ceiling->skipped = "the copy is below the timestamp resolution";
    ceiling->value = ceiling->work / (ceiling->time.min_ms * 1e6);
  }
  return {shader, texel, transfer};
}

}  // namespace

std::vector<Ceiling> measure_ceilings(const BenchContext& ctx) {
  const FmaVariant variants[] = {{"fma_scalar", "bench_fma_scalar", 1},
                                 {"fma_vec4", "bench_fma_vec4", 4}};
  std::vector<Ceiling> out;
  if (!ctx.has_timestamps()) {
    for (const char* name :
         {"fma_scalar", "fma_vec4", "copy_shader", "copy_texel", "copy_transfer"}) {
      out.push_back({.name = name, .skipped = "the compute queue has no timestamps"});
    }
    return out;
  }
  for (const FmaVariant& v : variants) {
    ctx.progress(fmt::format("ceiling {}", v.name));
    out.push_back(measure_fma(ctx, v));
  }
  ctx.progress("ceiling copy bandwidth");
  for (Ceiling& c : measure_copies(ctx)) out.push_back(std::move(c));
  return out;
}

}  // namespace vkbench
