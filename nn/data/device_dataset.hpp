// DeviceDataset: a whole IDX data set resident on the device, uploaded once. Batches are then
// gathered there by index (GatherBatch); nothing crosses the bus per step.
#pragma once

#include <cstdint>

#include "engine/device.hpp"
#include "engine/memory.hpp"
#include "nn/data/idx.hpp"

namespace vkm::nn {

class DeviceDataset {
 public:
  DeviceDataset(Device& device, const Dataset& data);

  uint32_t count() const { return count_; }
  uint32_t rows() const { return rows_; }
  uint32_t cols() const { return cols_; }
  // uint32 [ceil(count*rows*cols/4)]: pixel bytes packed 4 per word, little-endian (byte k of
  // the data set is bits 8*(k%4).. of word k/4).
  const Buffer& pixels() const { return pixels_; }
  const Buffer& labels() const { return labels_; }  // uint32 [count]

 private:
  uint32_t count_ = 0, rows_ = 0, cols_ = 0;
  Buffer pixels_;
  Buffer labels_;
};

}  // namespace vkm::nn
