// Tensor: a float32 device buffer with an [N, C, H, W] shape (NCHW, contiguous).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "engine/device.hpp"
#include "engine/memory.hpp"
#include "nn/shape.hpp"

namespace vkm::nn {

class Tensor {
 public:
  Tensor(Device& device, Shape shape, std::string name)
      : device_(&device),
        shape_(shape),
        buffer_(device.buffer(shape.numel() * sizeof(float), std::move(name))) {}

  // Over an existing buffer (e.g. a view into a larger one) of at least shape.numel() floats.
  Tensor(Device& device, Shape shape, Buffer buffer);

  const Shape& shape() const { return shape_; }
  size_t numel() const { return shape_.numel(); }
  const Buffer& buffer() const { return buffer_; }
  const std::string& name() const { return buffer_.name(); }

  void upload(std::span<const float> values) const;
  std::vector<float> download() const;
  // Fills every element with the bit pattern of `value` (tests poison outputs with NaN).
  void fill(float value) const;

 private:
  Device* device_;
  Shape shape_;
  Buffer buffer_;
};

}  // namespace vkm::nn
