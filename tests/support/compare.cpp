// Tensor comparison for tests.
#include "tests/support/compare.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace vkm::test {

::testing::AssertionResult close(std::string_view what, std::span<const float> got,
                                 std::span<const double> want, double tolerance) {
  return close(what, got, want, tolerance, 0.0);
}

::testing::AssertionResult close(std::string_view what, std::span<const float> got,
                                 std::span<const double> want, double tolerance, double abs_floor) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure()
           << what << ": " << got.size() << " values, expected " << want.size();
  }
  const Comparison c = compare(got, want);
  if (c.non_finite > 0) {
    return ::testing::AssertionFailure()
           << what << ": " << c.non_finite << " non-finite values (first at index " << c.worst
           << ": " << got[c.worst] << ", expected " << want[c.worst] << ")";
  }
  if (!(c.rel_l2 <= tolerance) && !(c.max_abs <= abs_floor)) {
    return ::testing::AssertionFailure() << fmt::format(
               "{}: relative L2 error {:.3g} > {:.3g}; max abs error {:.3g} at index {}{} "
               "(got {}, expected {})",
               what, c.rel_l2, tolerance, c.max_abs, c.worst,
               abs_floor > 0 ? fmt::format(" > {:.3g}", abs_floor) : std::string(), got[c.worst],
               want[c.worst]);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult close(std::string_view what, std::span<const float> got,
                                 std::span<const float> want, double tolerance) {
  const std::vector<double> wanted(want.begin(), want.end());
  return close(what, got, std::span<const double>(wanted), tolerance);
}

::testing::AssertionResult bitwise_equal(std::string_view what, std::span<const float> a,
                                         std::span<const float> b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << what << ": sizes differ";
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) {
      return ::testing::AssertionFailure() << fmt::format(
                 "{}: runs differ first at index {} ({:a} vs {:a})", what, i, a[i], b[i]);
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace vkm::test
