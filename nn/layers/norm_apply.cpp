// NormApply: the constants and bindings of shaders/common/norm_apply.glsl.
#include "nn/layers/norm_apply.hpp"

#include "engine/error.hpp"
#include "nn/clock.hpp"

namespace vkm::nn {

KernelDesc& NormApply::add_constants(KernelDesc& desc) const {
  if (!(dropout.p >= 0.0f && dropout.p < 1.0f)) {
    throw Error("dropout probability must be in [0, 1)");
  }
  const bool drop = dropout.on();
  return desc.constant(30, "NA_ON", true)
      .constant(31, "NA_GROUP_CHANNELS", group_channels)
      .constant(32, "NA_AFFINE", affine)
      .constant(33, "NA_EVAL", eval)
      .constant(34, "NA_EPS", eps)
      .constant(35, "NA_DROPOUT", drop)
      .constant(36, "NA_DROP_P", drop ? dropout.p : 0.0f)
      .constant(37, "NA_DROP_SALT", drop ? dropout.salt : 0u)
      .constant(38, "NA_DROP_SCALE",
                drop ? static_cast<float>(1.0 / (1.0 - static_cast<double>(dropout.p))) : 1.0f);
}

void NormApply::add_bindings(std::vector<Binding>& bindings, const Buffer* clock) const {
  if (dropout.on() && (clock == nullptr || clock->size() < sizeof(ClockState))) {
    throw Error("a norm applied with dropout needs the training clock buffer");
  }
  bindings.push_back(reads(*mean));
  bindings.push_back(reads(*spread));
  bindings.push_back(reads(*gamma));
  bindings.push_back(reads(*beta));
  bindings.push_back(reads(dropout.on() ? *clock : *unused));
}

void add_unused_norm_apply(std::vector<Binding>& bindings, const Buffer& unused) {
  for (int i = 0; i < 5; ++i) bindings.push_back(reads(unused));
}

}  // namespace vkm::nn
