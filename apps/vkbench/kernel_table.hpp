// The kernel table: every kernel of the seed net's training step at the benchmark's batch, layer
// by layer (each layer in isolation on random inputs, checked, then timed), with the norm kernels
// of every norm asked for (bn, ln, gn).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/vkbench/bench_context.hpp"
#include "apps/vkbench/report.hpp"

namespace vkbench {

std::vector<KernelRow> measure_kernels(const BenchContext& ctx);

// The least memory traffic of one training step at `batch` for an implementation that keeps
// activations in memory: the input batch read once; every conv output written once and read once
// (forward) and its gradient written once and read once (backward); every parameter, gradient and
// momentum read and written once. Fusion beyond that (recomputing activations) could go lower.
double minimum_step_bytes(uint32_t batch);

}  // namespace vkbench
