// Argument checks and recording of the batch gather.
#include "nn/data/gather_batch.hpp"

#include <fmt/format.h>

#include <cmath>

#include "engine/error.hpp"
#include "nn/clock.hpp"

namespace vkm::nn {

GatherBatch::GatherBatch(KernelCache& kernels, uint32_t max_batch, GatherOptions options)
    : max_batch_(max_batch), options_(options) {
  if (max_batch == 0) throw Error("gather batch: the maximum batch must be at least 1");
  if (!(options.std > 0.0f) || !std::isfinite(options.mean) || !std::isfinite(options.std)) {
    throw Error(
        fmt::format("gather batch: normalization needs a finite mean and a positive std "
                    "(got mean {}, std {})",
                    options.mean, options.std));
  }
  if (!(options.max_degrees >= 0.0f && options.max_degrees <= 180.0f)) {
    throw Error(
        fmt::format("gather batch: rotation of up to {} degrees asked for; it must be "
                    "within 0..180",
                    options.max_degrees));
  }
  if (options.max_shift > kMaxShift) {
    throw Error(
        fmt::format("gather batch: a shift of up to {} pixels asked for; it must be within 0..{}",
                    options.max_shift, kMaxShift));
  }
  KernelDesc desc{.shader = "gather_batch",
                  .local_size = {kWorkgroup, 1, 1},
                  .push_constant_bytes = sizeof(GatherBatchPush),
                  .bindings = 6};
  kernel_ = &kernels.get(desc);
}

void GatherBatch::record(Graph& graph, const DeviceDataset& data, const Buffer& permutation,
                         const Buffer& clock, uint32_t batch_start, uint32_t n, bool rotate,
                         const Tensor& x, const Buffer& labels) const {
  if (n == 0 || n > max_batch_) {
    throw Error(fmt::format("gather batch: batch of {} samples, built for 1..{}", n, max_batch_));
  }
  if (uint64_t{batch_start} + n > data.count()) {
    throw Error(fmt::format("gather batch: samples {}..{} asked for from a data set of {}",
                            batch_start, uint64_t{batch_start} + n - 1, data.count()));
  }
  const Shape& s = x.shape();
  if (s.n < n || s.c != 1 || s.h != data.rows() || s.w != data.cols()) {
    throw Error(fmt::format("gather batch: tensor '{}' of {} cannot hold {} images of 1x{}x{}",
                            x.name(), s.str(), n, data.rows(), data.cols()));
  }
  if (permutation.size() < VkDeviceSize{data.count()} * sizeof(uint32_t)) {
    throw Error(fmt::format("gather batch: permutation '{}' holds {} bytes, less than {} indices",
                            permutation.name(), permutation.size(), data.count()));
  }
  if (labels.size() < VkDeviceSize{n} * sizeof(uint32_t)) {
    throw Error(fmt::format("gather batch: label buffer '{}' holds {} bytes, less than {} labels",
                            labels.name(), labels.size(), n));
  }
  if (clock.size() < sizeof(ClockState)) {
    throw Error(
        fmt::format("gather batch: clock buffer '{}' is smaller than a ClockState", clock.name()));
  }
  const GatherBatchPush push{.batch_start = batch_start,
                             .n = n,
                             .count = data.count(),
                             .rows = data.rows(),
                             .cols = data.cols(),
                             .rotate = rotate ? 1u : 0u,
                             .max_degrees = options_.max_degrees,
                             .pixel_scale = 1.0f / 255.0f,
                             .mean = options_.mean,
                             .inv_std = 1.0f / options_.std,
                             .max_shift = options_.max_shift};
  graph.dispatch(*kernel_,
                 {reads(data.pixels()), reads(data.labels()), reads(permutation), reads(clock),
                  writes(x.buffer()), writes(labels)},
                 push, {n * data.rows(), 1, 1}, rotate ? "gather_batch rotate" : "gather_batch");
}

}  // namespace vkm::nn
