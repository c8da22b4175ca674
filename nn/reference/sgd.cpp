// The SGD update, one parameter at a time, in double.
#include "nn/reference/sgd.hpp"

#include <stdexcept>

namespace vkm::nn::reference {

template <typename T>
void sgd_update(const SgdHyper& h, std::span<T> w, std::span<const T> grad, std::span<T> velocity) {
  if (grad.size() != w.size() || velocity.size() != w.size()) {
    throw std::invalid_argument("sgd_update: weights, gradient and velocity differ in size");
  }
  for (size_t i = 0; i < w.size(); ++i) {
    const double wi = w[i];
    const double sign = wi > 0.0 ? 1.0 : (wi < 0.0 ? -1.0 : 0.0);
    const double g = static_cast<double>(grad[i]) + h.l2 * wi + h.l1 * sign;
    const double v = h.momentum * static_cast<double>(velocity[i]) + g;
    velocity[i] = static_cast<T>(v);
    w[i] = static_cast<T>(wi - h.lr * v);
  }
}

template void sgd_update<float>(const SgdHyper&, std::span<float>, std::span<const float>,
                                std::span<float>);
template void sgd_update<double>(const SgdHyper&, std::span<double>, std::span<const double>,
                                 std::span<double>);

}  // namespace vkm::nn::reference
