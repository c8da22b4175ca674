// NormApply: the constants and bindings of shaders/common/norm_apply.glsl.
#include "nn/layers/norm_apply.hpp"

#include <span>

#include "engine/error.hpp"
#include "nn/clock.hpp"

namespace vkm::nn {

KernelDesc& NormApply::add_constants(KernelDesc& desc) const {
  if (!(dropout.p >= 0.0f && dropout.p < 1.0f)) {
    throw Error("dropout probability must be in [0, 1)");
  }
  return desc.constant("NA_ON", true).constant("NA_DROPOUT", dropout.on());
}

NormApplyParams NormApply::params_data() const {
  const bool drop = dropout.on();
  return {
      .group_channels = group_channels,
      .affine = affine ? 1u : 0u,
      .eval = eval ? 1u : 0u,
      .eps = eps,
      .drop_p = drop ? dropout.p : 0.0f,
      .drop_scale = drop ? static_cast<float>(1.0 / (1.0 - static_cast<double>(dropout.p))) : 1.0f,
      .drop_salt = drop ? dropout.salt : 0u,
      .momentum = momentum};
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
  if (params == nullptr) throw Error("a norm applied without its parameters buffer");
  bindings.push_back(reads(*params));
}

void add_norm_apply_bindings(std::vector<Binding>& bindings, const NormApply* apply,
                             const Buffer* clock, const Buffer& unused) {
  if (apply != nullptr) {
    apply->add_bindings(bindings, clock);
    return;
  }
  for (int i = 0; i < 6; ++i) bindings.push_back(reads(unused));
}

Buffer upload_norm_apply_params(Device& device, const NormApply& apply, const std::string& name) {
  const NormApplyParams data = apply.params_data();
  Buffer b = device.buffer(sizeof(data), name);
  device.upload(b, std::as_bytes(std::span(&data, 1)));
  return b;
}

}  // namespace vkm::nn
