// The device's measured ceilings, the roofline every kernel is held against:
//   fma_scalar, fma_vec4: independent FMA chains (shaders/bench_fma_*.comp), 2 FLOP per FMA;
//   copy_shader: a vec4 grid-stride copy (shaders/bench_copy.comp), bytes read + bytes written;
//   copy_transfer: vkCmdCopyBuffer of the same buffers, bytes read + bytes written.
// Each output is checked (FMA results against the same chains on the host, copies bitwise)
// before it is timed by GPU timestamps. A ceiling is what the device can reach: its rate is the
// best of the timed runs (the median is kept too), which a busy host disturbs least.
#pragma once

#include <vector>

#include "apps/vkbench/bench_context.hpp"
#include "apps/vkbench/report.hpp"

namespace vkbench {

std::vector<Ceiling> measure_ceilings(const BenchContext& context);

}  // namespace vkbench
