// Fresh random test inputs. The seed is printed by each test that fails (through the message)
// and can be fixed with VKMNIST_TEST_SEED to replay a failure.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace vkm::test {

// The per-process seed: VKMNIST_TEST_SEED if set, otherwise from std::random_device.
uint64_t test_seed();

// n floats uniform in [lo, hi), from a generator seeded by test_seed() mixed with `stream`.
std::vector<float> uniform(size_t n, float lo, float hi, uint64_t stream);

}  // namespace vkm::test
