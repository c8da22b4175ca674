// Where the tests find the repository's files (data/mnist, tests/data): the source tree they were
// built from, or VKMNIST_TEST_SOURCE_DIR where set (the bundle's gpu-check points it at the copies
// it carries, on a machine without the source tree).
#pragma once

#include <cstdlib>
#include <filesystem>

namespace vkm::test {

inline std::filesystem::path source_dir() {
  const char* env = std::getenv("VKMNIST_TEST_SOURCE_DIR");
  return env != nullptr && env[0] != '\0' ? std::filesystem::path(env)
                                          : std::filesystem::path(VKMNIST_SOURCE_DIR);
}

}  // namespace vkm::test
