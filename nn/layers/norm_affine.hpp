// What BatchNorm2d and GroupNorm share: the optional per-channel scale and shift (PyTorch's
// affine=True: "<layer>.weight" = gamma, init 1; "<layer>.bias" = beta, init 0; [C] each, stored
// as Shape{C, 1, 1, 1}), a small buffer bound in their place without them, the dropout both can
// fuse after their ReLU, and the shape checks both make before recording.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/device.hpp"
#include "engine/kernel.hpp"
#include "nn/parameter.hpp"
#include "nn/shape.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

// The push constants of every norm kernel (shaders/common/norm_push.glsl). A statistic spans
// group_channels consecutive channels of one sample (GroupNorm) or, where group_channels is 0,
// one channel over the batch (BatchNorm).
struct NormPush {
  uint32_t n;               // samples in this batch
  uint32_t channels;        // C
  uint32_t plane;           // H * W
  uint32_t planes;          // n * C
  uint32_t groups;          // GroupNorm: groups per sample; BatchNorm: 0
  uint32_t group_channels;  // GroupNorm: C / groups; BatchNorm: 0
  float inv_count;          // 1 / the number of values one statistic spans
  float eps;
  float momentum = 0.0f;  // BatchNorm's running statistics
  float unbias = 1.0f;    // BatchNorm: count / (count - 1), 1 for a single value
  uint32_t step = 0;      // fused dropout: the step within the epoch
};
static_assert(sizeof(NormPush) == 44, "mirrors Push in shaders/common/norm_push.glsl");

// Where a norm's per-plane sums come from: its own pass (kCompute), or another kernel wrote them
// into the norm's statistics() buffer (kGiven). Forward: Conv2d's forward writes the statistics of
// the norm after it as it writes each plane. Backward: Conv2d's backward, when the conv
// applies the norm to its input (NormApply), writes the norm's gradient sums as it writes dx.
enum class Statistics { kCompute, kGiven };

// Dropout fused after the norm's ReLU (shaders/common/norm_dropout.glsl): drop probability p
// (0: none) and the layer's salt for the mask, as nn/reference's dropout. Training forward only;
// eval never drops.
struct FusedDropout {
  float p = 0.0f;
  uint32_t salt = 0;
  bool on() const { return p > 0.0f; }
  // Specialization constants 14..17 of the norms' forward and backward kernels.
  void add_constants(KernelDesc& desc, bool active) const;
};

class NormAffine {
 public:
  // Checks the layer's input first (check_norm_input), so that a bad shape is reported as such.
  NormAffine(Device& device, const std::string& layer, const char* kind, Shape input,
             uint32_t workgroup, bool affine);

  bool affine() const { return weight_.has_value(); }
  std::vector<Parameter*> parameters();  // {weight, bias} or {}
  size_t parameter_count() const { return weight_ ? 2 * size_t{channels_} : 0; }

  // The buffers to bind: the parameters' when affine, else the placeholder.
  const Buffer& gamma() const { return weight_ ? weight_->value.buffer() : unused_; }
  const Buffer& beta() const { return bias_ ? bias_->value.buffer() : unused_; }
  const Buffer& dgamma() const { return weight_ ? weight_->grad.buffer() : unused_; }
  const Buffer& dbeta() const { return bias_ ? bias_->grad.buffer() : unused_; }
  // 16 bytes bound where a kernel declares a buffer it does not read in this variant (the clock
  // of a forward without dropout).
  const Buffer& unused() const { return unused_; }

 private:
  uint32_t channels_;
  std::optional<Parameter> weight_;
  std::optional<Parameter> bias_;
  Buffer unused_;
};

// Throws vkm::Error unless `input` is non-empty and its N·C planes fit one dispatch of
// `workgroup`-wide groups. kind: "batchnorm", "groupnorm" (for the message).
void check_norm_input(const std::string& layer, const char* kind, Shape input, uint32_t workgroup);

// Throws vkm::Error unless `t` holds at least n samples of input's [C, H, W].
void check_norm_tensor(const std::string& layer, Shape input, const char* op, const Tensor& t,
                       const char* role, uint32_t n);

}  // namespace vkm::nn
