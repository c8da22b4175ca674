// Running a recorded Program repeatedly and collecting its times: per node from GPU timestamps
// (a Program recorded with profile = true), or per run by the wall clock.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/graph.hpp"

namespace vkbench {

// warmup untimed runs, then `repeats` runs; result[r][i] = node i's time in run r (ms).
std::vector<std::vector<double>> profile_runs(vkm::Program& program, uint32_t warmup,
                                              uint32_t repeats);
// warmup untimed runs, then `repeats` runs timed from submit to completion (ms).
std::vector<double> wall_clock_runs(vkm::Program& program, uint32_t warmup, uint32_t repeats);

double seconds_since_start();  // monotonic, for coarse progress and setup timings

}  // namespace vkbench
