// Tensor transfers.
#include "nn/tensor.hpp"

#include <fmt/format.h>

#include <cstring>

#include "engine/error.hpp"

namespace vkm::nn {

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
  device_->upload(buffer_, std::as_bytes(values));
}

std::vector<float> Tensor::download() const {
  std::vector<float> values(numel());
  device_->download(buffer_, std::as_writable_bytes(std::span(values)));
  return values;
}

void Tensor::fill(float value) const {
  uint32_t word = 0;
  std::memcpy(&word, &value, sizeof word);
  device_->fill(buffer_, word);
}

}  // namespace vkm::nn
