// Central differences.
#include "tests/support/gradcheck.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace vkm::test {

::testing::AssertionResult gradcheck(std::string_view what,
                                     const std::function<double(const std::vector<double>&)>& loss,
                                     std::vector<double> at, const std::vector<double>& analytic,
                                     double eps, double tol, size_t max_checks) {
  if (at.size() != analytic.size()) {
    return ::testing::AssertionFailure() << what << ": gradient has " << analytic.size()
                                         << " values for " << at.size() << " inputs";
  }
  const size_t step = std::max<size_t>(1, at.size() / std::max<size_t>(max_checks, 1));
  for (size_t i = 0; i < at.size(); i += step) {
    const double saved = at[i];
    at[i] = saved + eps;
    const double up = loss(at);
    at[i] = saved - eps;
    const double down = loss(at);
    at[i] = saved;
    const double numeric = (up - down) / (2 * eps);
    if (!(std::abs(numeric - analytic[i]) <= tol * (1 + std::abs(numeric)))) {
      return ::testing::AssertionFailure()
             << fmt::format("{}: d/dx[{}] analytic {:.10g} vs finite difference {:.10g}", what, i,
                            analytic[i], numeric);
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace vkm::test
