// The generic part of a kernel-table case: run, check, time, summarize.
#include "apps/vkbench/kernel_case.hpp"

#include <fmt/format.h>

#include <random>

#include "apps/vkbench/timing.hpp"
#include "engine/error.hpp"
#include "nn/clock.hpp"

namespace vkbench {

namespace {

// The compulsory traffic of a row's dispatches: every distinct buffer they bind, read once or
// written once (read-write: twice), however many of the dispatches bind it.
double row_bytes(const vkm::Graph& graph, const std::vector<size_t>& nodes) {
  std::map<std::pair<const vkm::Buffer*, vkm::Access>, double> buffers;
  for (size_t i : nodes) {
    for (const vkm::Binding& b : graph.nodes()[i].bindings) {
      buffers[{b.buffer, b.access}] =
          static_cast<double>(b.buffer->size()) * (b.access == vkm::Access::kReadWrite ? 2.0 : 1.0);
    }
  }
  double bytes = 0.0;
  for (const auto& [key, size] : buffers) bytes += size;
  return bytes;
}

}  // namespace

std::vector<RowSpec> rows_per_node(const vkm::Graph& graph,
                                   const std::map<std::string, double>& flops) {
  std::vector<RowSpec> rows;
  for (size_t i = 0; i < graph.size(); ++i) {
    const vkm::Node& node = graph.nodes()[i];
    const std::string kernel = node.kernel != nullptr ? node.kernel->name() : node.label;
    // A layer may split one op into several dispatches of a kernel (e.g. one per channel tile):
    // they make one row, which carries the op's FLOPs once.
    if (!rows.empty() && rows.back().kernel == kernel) {
      rows.back().nodes.push_back(i);
      continue;
    }
    const auto it = flops.find(kernel);
    if (it == flops.end()) {
      throw vkm::Error(fmt::format("vkbench: no FLOP formula for kernel {}", kernel));
    }
    rows.push_back({kernel, {i}, it->second});
  }
  return rows;
}

std::vector<KernelRow> run_case(const BenchContext& ctx, const CaseInfo& info,
                                const vkm::Graph& graph, const std::vector<RowSpec>& specs,
                                const std::function<void(Checker&)>& check) {
  const bool timed = ctx.has_timestamps();
  vkm::Program program(ctx.device, graph, vkm::RecordOptions{.profile = timed});
  program.run();
  Checker checker;
  check(checker);

  std::vector<KernelRow> rows;
  for (const RowSpec& spec : specs) {
    KernelRow row{.layer = info.layer,
                  .norm = info.norm,
                  .kernel = spec.kernel,
                  .shape = info.shape,
                  .dispatches = spec.nodes.size(),
                  .flops = spec.flops};
    row.bytes = row_bytes(graph, spec.nodes);
    for (size_t node : spec.nodes) {
      const vkm::Node& n = graph.nodes()[node];
      if (n.kernel == nullptr) continue;
      const auto& local = n.kernel->local_size();
      const uint64_t groups = uint64_t{n.groups[0]} * n.groups[1] * n.groups[2];
      const uint64_t invocations = groups * local[0] * local[1] * local[2];
      if (invocations > row.invocations) {
        row.workgroups = groups;
        row.invocations = invocations;
      }
    }
    if (row.invocations > 0) {
      const double per_dispatch = spec.flops / static_cast<double>(spec.nodes.size());
      row.macs_per_invocation = per_dispatch / 2.0 / static_cast<double>(row.invocations);
    }
    row.check = checker.status();
    row.check_rel_l2 = checker.worst();
    if (!timed) row.skipped = "the compute queue has no timestamps";
    rows.push_back(std::move(row));
  }
  if (!timed || !checker.ok()) return rows;

  const auto runs = profile_runs(program, ctx.settings.warmup, ctx.settings.repeats);
  for (size_t r = 0; r < specs.size(); ++r) {
    std::vector<double> ms;
    for (const auto& run : runs) {
      double sum = 0.0;
      for (size_t node : specs[r].nodes) sum += run[node];
      ms.push_back(sum);
    }
    rows[r].time = summarize(ms);
    if (rows[r].time.median_ms <= 0.0) rows[r].skipped = "below the timestamp resolution";
  }
  return rows;
}

std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t stream) {
  std::mt19937 rng(0x5eed0000u + stream);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

vkm::Buffer clock_buffer(vkm::Device& device) {
  return upload_buffer(
      device, std::vector<nn::ClockState>{{.epoch = 0, .steps_per_epoch = 1, .seed = kClockSeed}},
      "clock");
}

std::vector<uint32_t> random_labels(size_t n, uint32_t classes, uint32_t stream) {
  std::mt19937 rng(0x1abe0000u + stream);
  std::vector<uint32_t> v(n);
  for (uint32_t& l : v) l = static_cast<uint32_t>(rng() % classes);
  return v;
}

}  // namespace vkbench
