// Tensor transfers.
#include "nn/tensor.hpp"

#include <fmt/format.h>

#include <cstring>
#include <span>
#include <vector>

#include "engine/error.hpp"

namespace vkm::nn {

Layout activation_layout(const Shape& shape) {
  return shape.c % 4 == 0 && shape.plane() > 1 ? Layout::kNC4HW4 : Layout::kNCHW;
}

namespace {

// NCHW order <-> NC4HW4 order (pack: to_packed true).
std::vector<float> repack(const Shape& s, std::span<const float> in, bool to_packed) {
  std::vector<float> out(in.size());
  const size_t plane = s.plane();
  for (size_t n = 0; n < s.n; ++n) {
    for (size_t c = 0; c < s.c; ++c) {
      for (size_t i = 0; i < plane; ++i) {
        const size_t nchw = (n * s.c + c) * plane + i;
        const size_t packed = ((n * (s.c / 4) + c / 4) * plane + i) * 4 + c % 4;
        if (to_packed) {
          out[packed] = in[nchw];
        } else {
          out[nchw] = in[packed];
        }
      }
    }
  }
  return out;
}

}  // namespace

Tensor::Tensor(Device& device, Shape shape, std::string name, Layout layout)
    : device_(&device),
      shape_(shape),
      layout_(layout),
      buffer_(device.buffer((shape.numel() + 3) / 4 * 4 * sizeof(float), std::move(name))) {
  if (layout == Layout::kNC4HW4 && shape.c % 4 != 0) {
    throw Error(fmt::format("tensor '{}' {}: NC4HW4 needs a multiple of 4 channels", buffer_.name(),
                            shape.str()));
  }
}

Tensor::Tensor(Device& device, Shape shape, Buffer buffer)
    : device_(&device), shape_(shape), buffer_(std::move(buffer)) {
  if (buffer_.size() < shape.numel() * sizeof(float)) {
    throw Error(fmt::format("tensor '{}' {}: its buffer holds {} bytes", buffer_.name(),
                            shape.str(), buffer_.size()));
  }
}

void Tensor::upload(std::span<const float> values) const {
  if (values.size() != numel()) {
    throw Error(fmt::format("upload of {} values into tensor '{}' of shape {}", values.size(),
                            name(), shape_.str()));
  }
  if (packed()) {
    const std::vector<float> p = repack(shape_, values, true);
    device_->upload(buffer_, std::as_bytes(std::span(p)));
    return;
  }
  device_->upload(buffer_, std::as_bytes(values));
}

std::vector<float> Tensor::download() const {
  std::vector<float> values(numel());
  device_->download(buffer_, std::as_writable_bytes(std::span(values)));
  return packed() ? repack(shape_, values, false) : values;
}

void Tensor::fill(float value) const {
  uint32_t word = 0;
  std::memcpy(&word, &value, sizeof word);
  device_->fill(buffer_, word);
}

}  // namespace vkm::nn
