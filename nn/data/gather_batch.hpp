// GatherBatch: each step's input batch gathered on the device from the resident data set by
// index through a per-epoch permutation, normalized, and (training) randomly rotated and shifted
// (shaders/gather_batch.comp; CPU reference: nn/reference/gather_batch.hpp).
#pragma once

#include <cstdint>

#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "engine/memory.hpp"
#include "nn/data/device_dataset.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

struct GatherBatchPush {
  uint32_t batch_start;
  uint32_t n;
  uint32_t count;
  uint32_t rows;
  uint32_t cols;
  uint32_t rotate;
  float max_degrees;
  float pixel_scale;
  float mean;
  float inv_std;
  uint32_t max_shift;
};
static_assert(sizeof(GatherBatchPush) == 44, "mirrors Push in gather_batch.comp");

struct GatherOptions {
  float mean = 0.1307f, std = 0.3081f;
  float max_degrees = 7.0f;  // training rotation, uniform in [-max_degrees, max_degrees); <= 180
  uint32_t max_shift = 0;    // training shift in whole pixels, uniform in [-max_shift, max_shift]
};

class GatherBatch {
 public:
  static constexpr uint32_t kWorkgroup = 64;
  static constexpr uint32_t kMaxShift = 8;

  GatherBatch(KernelCache& kernels, uint32_t max_batch, GatherOptions options = {});

  uint32_t max_batch() const { return max_batch_; }
  const GatherOptions& options() const { return options_; }

  // Writes x [n, 1, 28, 28] (of a tensor [>= n, 1, rows, cols]) and labels[0..n) (uint32) for
  // samples permutation[batch_start + i] (permutation: uint32 [data.count()], written by the host
  // before each epoch; the identity for evaluation). rotate: training augmentation, the angle
  // and the shift drawn from (clock.seed, clock.epoch, data-set index) (clock: nn/clock.hpp's
  // ClockState).
  void record(Graph& graph, const DeviceDataset& data, const Buffer& permutation,
              const Buffer& clock, uint32_t batch_start, uint32_t n, bool rotate, const Tensor& x,
              const Buffer& labels) const;

 private:
  const Kernel* kernel_;
  uint32_t max_batch_;
  GatherOptions options_;
};

}  // namespace vkm::nn
