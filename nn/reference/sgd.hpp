// CPU reference of the optimizer step: SGD with momentum, L2 weight decay and an L1 penalty in
// one update, by PyTorch's rule (dampening 0, no Nesterov):
//   g = grad + l2 * w + l1 * sign(w)   (sign(0) = 0)
//   v = momentum * v + g
//   w = w - lr * v
// With v starting at zero the first step is v = g, as PyTorch's first-step buffer.
#pragma once

#include <span>

namespace vkm::nn::reference {

struct SgdHyper {
  double lr, momentum, l2, l1;
};

// w, grad, velocity: the same number of values; w and velocity are updated in place.
template <typename T>
void sgd_update(const SgdHyper& h, std::span<T> w, std::span<const T> grad, std::span<T> velocity);

}  // namespace vkm::nn::reference
