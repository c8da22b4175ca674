// Checking a kernel's output against the CPU reference before it is timed: relative L2 error
// over each output, the worst one kept, any non-finite value or error above the tolerance a
// failure ("FAILED check" in the report, and a non-zero exit).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "nn/reference/compare.hpp"

namespace vkbench {

// The tests' policy for one kernel (nn/reference/compare.hpp).
constexpr double kCheckTolerance = vkm::nn::reference::kKernelTolerance;

class Checker {
 public:
  // nn::reference::compare against kCheckTolerance.
  void compare(const std::string& output, std::span<const float> got, std::span<const double> want);
  void compare(const std::string& output, std::span<const float> got, std::span<const float> want);
  // A failure found otherwise (a count, a size).
  void fail(const std::string& why);

  bool ok() const { return failures_.empty(); }
  double worst() const { return worst_; }
  // "ok" or "FAILED: <output> rel L2 ... > 1e-5; ..."
  std::string status() const;

 private:
  double worst_ = 0.0;
  std::vector<std::string> failures_;
};

std::vector<double> widen(std::span<const float> v);

}  // namespace vkbench
