// Relative L2 comparison of device outputs with the reference.
#include "apps/vkbench/check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace vkbench {

void Checker::compare(const std::string& output, std::span<const float> got,
                      std::span<const double> want) {
  if (got.size() != want.size()) {
    fail(fmt::format("{}: {} values, the reference has {}", output, got.size(), want.size()));
    return;
  }
  const vkm::nn::reference::Comparison c = vkm::nn::reference::compare(got, want);
  if (c.non_finite > 0) {
    fail(fmt::format("{}: {} of {} values not finite", output, c.non_finite, got.size()));
    return;
  }
  const double rel = c.rel_l2;
  worst_ = std::max(worst_, rel);
  if (!(rel <= kCheckTolerance)) {
    fail(fmt::format("{}: relative L2 error {:.2e} > {:.0e}", output, rel, kCheckTolerance));
  }
}

void Checker::compare(const std::string& output, std::span<const float> got,
                      std::span<const float> want) {
  const std::vector<double> w = widen(want);
  compare(output, got, w);
}

void Checker::fail(const std::string& why) {
  failures_.push_back(why);
}

std::string Checker::status() const {
  if (failures_.empty()) return "ok";
  constexpr size_t kShown = 3;
  std::string s = "FAILED: ";
  for (size_t i = 0; i < std::min(kShown, failures_.size()); ++i)
    s += (i ? "; " : "") + failures_[i];
  if (failures_.size() > kShown) s += fmt::format("; and {} more", failures_.size() - kShown);
  return s;
}

std::vector<double> widen(std::span<const float> v) {
  return {v.begin(), v.end()};
}

}  // namespace vkbench
