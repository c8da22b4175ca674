// The one tensor-compare helper for all tests: relative L2 error, max absolute error and the
// index of the worst element; the failure message names the op and shape. Non-finite values in
// the result fail, whatever the tolerance (a poisoned, unwritten output is caught this way).
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <string_view>

namespace vkm::test {

struct Comparison {
  double rel_l2 = 0.0;
  double max_abs = 0.0;
  size_t worst = 0;       // index of the largest absolute difference
  size_t non_finite = 0;  // NaN or Inf in `got`
};

Comparison compare(std::span<const float> got, std::span<const double> want);

// what: e.g. "conv2d_forward [3, 8, 13, 13]".
::testing::AssertionResult close(std::string_view what, std::span<const float> got,
                                 std::span<const double> want, double rel_l2_tolerance);
::testing::AssertionResult close(std::string_view what, std::span<const float> got,
                                 std::span<const float> want, double rel_l2_tolerance);

// Bitwise identity of two runs (determinism tests).
::testing::AssertionResult bitwise_equal(std::string_view what, std::span<const float> a,
                                         std::span<const float> b);

}  // namespace vkm::test
