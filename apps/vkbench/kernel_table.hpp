// The kernel table: every kernel of the seed net's training step at the benchmark's batch, layer
// by layer (each layer in isolation on random inputs, checked, then timed), with the norm kernels
// of every norm asked for (bn, ln, gn).
#pragma once

#include <vector>

#include "apps/vkbench/bench_context.hpp"
#include "apps/vkbench/report.hpp"

namespace vkbench {

std::vector<KernelRow> measure_kernels(const BenchContext& ctx);

}  // namespace vkbench
