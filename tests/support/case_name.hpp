// Names of parameterized test cases that say what they test: the case's index, then its
// description with every run of characters gtest does not allow in a name turned into one '_'.
// "conv2d [128, 8, 26, 26] -> 8 k3 pad0 n128", case 1: "case1_conv2d_128_8_26_26_8_k3_pad0_n128"
// (the index keeps names unique and --gtest_filter=*case1_* short).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace vkm::test {

inline std::string case_name(size_t index, std::string_view description) {
  std::string out = "case" + std::to_string(index) + "_";
  for (char c : description) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += c;
    } else if (out.back() != '_') {
      out += '_';
    }
  }
  while (out.back() == '_') out.pop_back();
  return out;
}

}  // namespace vkm::test
