// Packing and upload of a data set.
#include "nn/data/device_dataset.hpp"

#include <fmt/format.h>

#include <span>
#include <vector>

#include "engine/error.hpp"

namespace vkm::nn {

DeviceDataset::DeviceDataset(Device& device, const Dataset& data)
    : count_(data.images.count), rows_(data.images.rows), cols_(data.images.cols) {
  const size_t pixel_count = size_t{count_} * rows_ * cols_;
  if (count_ == 0 || pixel_count == 0) throw Error("device data set: no images to upload");
  if (data.images.pixels.size() != pixel_count || data.labels.count != count_ ||
      data.labels.labels.size() != count_) {
    throw Error(
        fmt::format("device data set: {} images of {}x{} ({} pixel bytes) and {} labels do "
                    "not agree",
                    count_, rows_, cols_, data.images.pixels.size(), data.labels.labels.size()));
  }
  // Explicit shifts rather than a memcpy: the layout is little-endian whatever the host is.
  std::vector<uint32_t> words((pixel_count + 3) / 4, 0u);
  for (size_t k = 0; k < pixel_count; ++k) {
    words[k / 4] |= uint32_t{data.images.pixels[k]} << (8 * (k % 4));
  }
  const std::vector<uint32_t> labels(data.labels.labels.begin(), data.labels.labels.end());

  pixels_ = device.buffer(words.size() * sizeof(uint32_t), "dataset pixels");
  labels_ = device.buffer(labels.size() * sizeof(uint32_t), "dataset labels");
  device.upload(pixels_, std::as_bytes(std::span(words)));
  device.upload(labels_, std::as_bytes(std::span(labels)));
}

}  // namespace vkm::nn
