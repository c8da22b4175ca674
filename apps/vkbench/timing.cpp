// Repeated runs of a Program: GPU timestamps per node, or wall clock per run.
#include "apps/vkbench/timing.hpp"

#include <chrono>

namespace vkbench {

std::vector<std::vector<double>> profile_runs(vkm::Program& program, uint32_t warmup,
                                              uint32_t repeats) {
  for (uint32_t i = 0; i < warmup; ++i) program.run();
  std::vector<std::vector<double>> runs;
  for (uint32_t r = 0; r < repeats; ++r) {
    program.run();
    std::vector<double> ms;
    for (const vkm::NodeTiming& t : program.timings()) ms.push_back(t.ms);
    runs.push_back(std::move(ms));
  }
  return runs;
}

std::vector<double> wall_clock_runs(vkm::Program& program, uint32_t warmup, uint32_t repeats) {
  for (uint32_t i = 0; i < warmup; ++i) program.run();
  std::vector<double> ms;
  for (uint32_t r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    program.run();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  return ms;
}

double seconds_since_start() {
  static const auto start = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace vkbench
