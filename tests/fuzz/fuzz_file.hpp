// A libFuzzer input as a file: the readers under test take paths (they read, gunzip and check
// whole files), so each input is written to one private temporary file first.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace vkm::fuzz {

inline const std::filesystem::path& input_file(const char* suffix) {
  static const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                            ("vkmnist-fuzz-" + std::to_string(getpid()) + suffix);
  return file;
}

inline const std::filesystem::path& write_input(const uint8_t* data, size_t size,
                                                const char* suffix) {
  const auto& file = input_file(suffix);
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return file;
}

}  // namespace vkm::fuzz
