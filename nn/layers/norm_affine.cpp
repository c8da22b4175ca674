// NormAffine and the norm layers' shape checks.
#include "nn/layers/norm_affine.hpp"

#include <fmt/format.h>

#include "engine/error.hpp"

namespace vkm::nn {

void FusedDropout::add_constants(KernelDesc& desc, bool active) const {
  if (!(p >= 0.0f && p < 1.0f)) {
    throw Error(fmt::format("dropout probability must be in [0, 1), got {}", p));
  }
  const bool use = active && on();
  desc.constant("DROPOUT", use)
      .constant("DROP_P", use ? p : 0.0f)
      .constant("DROP_SALT", use ? salt : 0u)
      .constant("DROP_SCALE",
                use ? static_cast<float>(1.0 / (1.0 - static_cast<double>(p))) : 1.0f);
}

NormAffine::NormAffine(Device& device, const std::string& layer, const char* kind, Shape input,
                       uint32_t workgroup, bool affine)
    : channels_(input.c) {
  check_norm_input(layer, kind, input, workgroup);
  unused_ = device.buffer(16, layer + " unused");
  if (!affine) return;
  const Shape shape{input.c, 1, 1, 1};
  weight_.emplace(device, layer + ".weight", shape);
  bias_.emplace(device, layer + ".bias", shape);
  weight_->value.fill(1.0f);
  bias_->value.fill(0.0f);
}

std::vector<Parameter*> NormAffine::parameters() {
  if (!weight_) return {};
  return {&*weight_, &*bias_};
}

void check_norm_input(const std::string& layer, const char* kind, Shape input, uint32_t workgroup) {
  constexpr uint32_t kMaxGroups = 65535;  // the smallest maxComputeWorkGroupCount Vulkan allows
  if (input.numel() == 0) throw Error(fmt::format("{}: empty input shape {}", layer, input.str()));
  if (size_t{input.n} * input.c > size_t{kMaxGroups} * workgroup || input.numel() >= (1ull << 32)) {
    throw Error(
        fmt::format("{}: input {} is too large for one {} dispatch", layer, input.str(), kind));
  }
}

void check_norm_tensor(const std::string& layer, Shape input, const char* op, const Tensor& t,
                       const char* role, uint32_t n) {
  const Shape& s = t.shape();
  if (s.c != input.c || s.h != input.h || s.w != input.w || s.n < n) {
    throw Error(fmt::format("{} {}: {} '{}' is {}, expected {} samples of [{}, {}, {}]", layer, op,
                            role, t.name(), s.str(), n, input.c, input.h, input.w));
  }
  if (t.layout() != activation_layout(input)) {
    throw Error(fmt::format("{} {}: {} '{}' is not in the layout of an activation of its shape",
                            layer, op, role, t.name()));
  }
}

}  // namespace vkm::nn
