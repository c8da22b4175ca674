// Relative L2 comparison.
#include "nn/reference/compare.hpp"

#include <cmath>

namespace vkm::nn::reference {

Comparison compare(std::span<const float> got, std::span<const double> want) {
  Comparison c;
  double diff2 = 0.0;
  double ref2 = 0.0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (!std::isfinite(got[i])) {
      ++c.non_finite;
      if (c.non_finite == 1) c.worst = i;
      continue;
    }
    const double d = static_cast<double>(got[i]) - want[i];
    diff2 += d * d;
    ref2 += want[i] * want[i];
    if (std::abs(d) > c.max_abs && c.non_finite == 0) {
      c.max_abs = std::abs(d);
      c.worst = i;
    }
  }
  c.rel_l2 = ref2 > 0.0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  return c;
}

}  // namespace vkm::nn::reference
