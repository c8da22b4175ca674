// One case of the kernel table: a layer of the seed net built in isolation at the benchmark's
// batch, its forward and backward recorded into a Graph, run once on random inputs, checked
// against nn/reference, then timed node by node with GPU timestamps. FLOPs are given per kernel
// by the case (its op's formula); bytes are every distinct buffer the kernel's dispatches bind,
// read once or written once (read-write twice) — the tensors are allocated at exactly the
// benchmark's batch, so this is the op's compulsory traffic.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "apps/vkbench/bench_context.hpp"
#include "apps/vkbench/check.hpp"
#include "apps/vkbench/report.hpp"
#include "engine/device.hpp"
#include "engine/graph.hpp"
#include "nn/shape.hpp"

namespace vkbench {

struct CaseInfo {
  std::string layer;  // conv3, norm3, ...
  std::string norm;   // bn, ln, gn or ""
  std::string shape;  // the layer's input
};

// A row of the table: one or more nodes of the case's graph.
struct RowSpec {
  std::string kernel;
  std::vector<size_t> nodes;
  double flops = 0.0;
};

// One row per kernel of the op, in graph order (consecutive dispatches of one kernel share a
// row), its FLOPs looked up by kernel (a kernel missing from the map is a bug and throws).
std::vector<RowSpec> rows_per_node(const vkm::Graph& graph,
                                   const std::map<std::string, double>& flops);

// Runs the graph once, lets `check` compare its outputs, and when they pass times it.
std::vector<KernelRow> run_case(const BenchContext& ctx, const CaseInfo& info,
                                const vkm::Graph& graph, const std::vector<RowSpec>& rows,
                                const std::function<void(Checker&)>& check);

// Reproducible random inputs: n floats uniform in [lo, hi) from stream `stream`.
std::vector<float> random_floats(size_t n, float lo, float hi, uint32_t stream);

// Each plane's (mean, M2 = sum of squared deviations) in double, interleaved: what a conv writes
// for the norm after it. values: [planes, plane].
template <typename T>
std::vector<double> plane_statistics(std::span<const T> values, size_t plane) {
  std::vector<double> out(values.size() / plane * 2);
  for (size_t q = 0; q < values.size() / plane; ++q) {
    double mean = 0.0, m2 = 0.0;
    for (size_t i = 0; i < plane; ++i) mean += values[q * plane + i];
    mean /= static_cast<double>(plane);
    for (size_t i = 0; i < plane; ++i) {
      const double d = values[q * plane + i] - mean;
      m2 += d * d;
    }
    out[2 * q] = mean;
    out[2 * q + 1] = m2;
  }
  return out;
}

// A device buffer holding `values`.
template <typename T>
vkm::Buffer upload_buffer(vkm::Device& device, const std::vector<T>& values, const char* name) {
  vkm::Buffer b = device.buffer(values.size() * sizeof(T), name);
  device.upload(b, std::as_bytes(std::span(values)));
  return b;
}

// The clock of the cases with a random mask (dropout): epoch 0, step 0, run seed kClockSeed.
constexpr uint32_t kClockSeed = 1;
vkm::Buffer clock_buffer(vkm::Device& device);
std::vector<uint32_t> random_labels(size_t n, uint32_t classes, uint32_t stream);

}  // namespace vkbench
