// The tests' tensor assertions over the one comparison (nn/reference/compare.hpp, which vkbench
// uses too): relative L2 error, max absolute error and the index of the worst element; the
// failure message names the op and shape. Non-finite values in the result fail, whatever the
// tolerance (a poisoned, unwritten output is caught this way).
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <string_view>

#include "nn/reference/compare.hpp"

namespace vkm::test {

using nn::reference::compare;  // nn/reference/compare.hpp: the measure and the tolerance policy
using nn::reference::Comparison;
using nn::reference::kKernelTolerance;
using nn::reference::kStepTolerance;

// what: e.g. "conv2d_forward [3, 8, 13, 13]".
::testing::AssertionResult close(std::string_view what, std::span<const float> got,
                                 std::span<const double> want, double rel_l2_tolerance);
::testing::AssertionResult close(std::string_view what, std::span<const float> got,
                                 std::span<const float> want, double rel_l2_tolerance);

// The same, also passing when no value is further than `abs_floor` from its reference: for a
// result whose error has an absolute bound that its own size does not scale (a logarithm near 1,
// which the Vulkan spec allows an absolute error of 2^-21, makes a tiny loss from large terms).
::testing::AssertionResult close(std::string_view what, std::span<const float> got,
                                 std::span<const double> want, double rel_l2_tolerance,
                                 double abs_floor);

// Bitwise identity of two runs (determinism tests).
::testing::AssertionResult bitwise_equal(std::string_view what, std::span<const float> a,
                                         std::span<const float> b);

}  // namespace vkm::test
