// How a device's float32 result is judged against the reference (double), by the tests and by
// vkbench alike: the relative L2 error over the whole tensor (||got - want|| / ||want||, or
// ||got - want|| when want is all zeros), the largest absolute difference and where it is, and
// the count of non-finite values, which fail whatever the tolerance (an unwritten, poisoned
// output is caught that way). And the tolerance policy.
#pragma once

#include <cstddef>
#include <span>

namespace vkm::nn::reference {

struct Comparison {
  double rel_l2 = 0.0;
  double max_abs = 0.0;
  size_t worst = 0;       // index of the largest absolute difference (or of the first non-finite)
  size_t non_finite = 0;  // NaN or Inf in `got`
  bool within(double tolerance) const { return non_finite == 0 && rel_l2 <= tolerance; }
};

Comparison compare(std::span<const float> got, std::span<const double> want);

// One kernel against its reference: float32 rounding of sums of up to a few thousand terms
// (measured worst on lavapipe: 1e-6).
inline constexpr double kKernelTolerance = 1e-5;
// Whole training steps (forward, backward, update, twice): rounding compounds through the net.
inline constexpr double kStepTolerance = 1e-4;

}  // namespace vkm::nn::reference
