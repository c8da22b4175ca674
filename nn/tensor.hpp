// Tensor: a float32 device buffer with an [N, C, H, W] shape, NCHW or channel-packed (NC4HW4).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "engine/device.hpp"
#include "engine/memory.hpp"
#include "nn/shape.hpp"

namespace vkm::nn {

// How a tensor's values lie in its buffer. upload() and download() always speak NCHW; the layout
// is what the kernels see.
enum class Layout {
  kNCHW,    // ((n * C + c) * H + y) * W + x
  kNC4HW4,  // channels in fours, as ncnn stores them: (((n * C/4 + c/4) * H + y) * W + x) * 4 +
            // c % 4, so one rgba32f texel holds four channels of one pixel (C % 4 == 0)
};

// The layout of the net's activations: NC4HW4 where C is a multiple of 4 and a plane holds more
// than one value ([N, C, 1, 1] is the same either way), else NCHW. Every kernel of a layer takes
// its tensors in the layout their shape gives here.
Layout activation_layout(const Shape& shape);

class Tensor {
 public:
  // An activation: its layout is activation_layout(shape). Its buffer is rounded up to whole
  // vec4s, so that kernels may read any tensor four floats at a time.
  Tensor(Device& device, Shape shape, std::string name)
      : Tensor(device, shape, std::move(name), activation_layout(shape)) {}
  Tensor(Device& device, Shape shape, std::string name, Layout layout);

  // Over an existing buffer (e.g. a view into a larger one) of at least shape.numel() floats,
  // NCHW (parameters, gradients, velocities).
  Tensor(Device& device, Shape shape, Buffer buffer);

  const Shape& shape() const { return shape_; }
  Layout layout() const { return layout_; }
  bool packed() const { return layout_ == Layout::kNC4HW4; }
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
  Layout layout_ = Layout::kNCHW;
  Buffer buffer_;
};

}  // namespace vkm::nn
