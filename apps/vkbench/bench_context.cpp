// Progress lines: what vkbench is measuring now, with the seconds since it started.
#include "apps/vkbench/bench_context.hpp"

#include <fmt/format.h>

#include <cstdio>

#include "apps/vkbench/timing.hpp"

namespace vkbench {

void BenchContext::progress(const std::string& line) const {
  progress_line(verbose, line);
}

void progress_line(bool verbose, const std::string& line) {
  if (!verbose) return;
  fmt::print(stderr, "[{:6.1f} s] {}\n", seconds_since_start(), line);
  std::fflush(stderr);
}

}  // namespace vkbench
