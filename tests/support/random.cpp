// Test randomness with a reportable seed.
#include "tests/support/random.hpp"

#include <cstdio>
#include <cstdlib>

namespace vkm::test {

uint64_t test_seed() {
  static const uint64_t seed = [] {
    uint64_t s = 0;
    if (const char* env = std::getenv("VKMNIST_TEST_SEED"); env != nullptr && env[0] != '\0') {
      s = std::strtoull(env, nullptr, 10);
    } else {
      std::random_device device;
      s = (uint64_t{device()} << 32) | device();
    }
    std::fprintf(stderr, "test seed: VKMNIST_TEST_SEED=%llu\n", static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

std::vector<float> uniform(size_t n, float lo, float hi, uint64_t stream) {
  std::mt19937_64 rng(test_seed() ^ (stream * 0x9E3779B97F4A7C15ull));
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace vkm::test
