// Finite-difference gradient check in double: the CPU reference's backward ops are verified
// against central differences of their forward ops.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string_view>
#include <vector>

namespace vkm::test {

// loss: a scalar function of the inputs (typically sum(forward(x) * upstream_grad));
// analytic: the backward op's d loss / d x at `at`. Checks every element (or `max_checks`
// evenly spread ones) with step `eps`; passes when |numeric - analytic| <= tol * (1 + |numeric|).
::testing::AssertionResult gradcheck(std::string_view what,
                                     const std::function<double(const std::vector<double>&)>& loss,
                                     std::vector<double> at, const std::vector<double>& analytic,
                                     double eps = 1e-6, double tol = 1e-6, size_t max_checks = 400);

}  // namespace vkm::test
