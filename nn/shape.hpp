// Shape: the [N, C, H, W] extent of a tensor. Plain data, shared by the device tensors and the
// CPU reference (which must not depend on the engine).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vkm::nn {

struct Shape {
  uint32_t n = 1;
  uint32_t c = 1;
  uint32_t h = 1;
  uint32_t w = 1;

  size_t numel() const { return size_t{n} * c * h * w; }
  size_t plane() const { return size_t{h} * w; }       // H*W
  size_t sample() const { return size_t{c} * h * w; }  // C*H*W
  std::string str() const {
    return "[" + std::to_string(n) + ", " + std::to_string(c) + ", " + std::to_string(h) + ", " +
           std::to_string(w) + "]";
  }
  bool operator==(const Shape&) const = default;
};

}  // namespace vkm::nn
