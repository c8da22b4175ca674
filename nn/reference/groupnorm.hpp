// CPU reference of GroupNorm (PyTorch semantics): each sample's channels split into `groups`
// groups of C / groups channels, each group normalized over its (C / groups, H, W) values with
// the biased variance, then a per-channel scale and shift. LayerNorm over (C, H, W) is groups = 1.
// Empty gamma/beta (and dgamma/dbeta) spans mean no affine: scale 1, shift 0, no parameter grads.
#pragma once

#include <cstdint>
#include <span>

#include "nn/shape.hpp"

namespace vkm::nn::reference {

// x, y: [N, C, H, W]; gamma, beta: [C]; save_mean, save_invstd (written): [N, groups], the group
// mean and 1 / sqrt(biased var + eps). groups must divide C (else std::invalid_argument).
template <typename T>
void groupnorm_forward(const Shape& s, uint32_t groups, std::span<const T> x,
                       std::span<const T> gamma, std::span<const T> beta, T eps, std::span<T> y,
                       std::span<T> save_mean, std::span<T> save_invstd);

// x, dy, dx: [N, C, H, W]; gamma, dgamma, dbeta: [C]; save_mean, save_invstd: [N, groups].
// With dxhat = dy * gamma[c] and means over the group's M = C / groups * H * W values:
// dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),
// dgamma[c] = sum over (n, h, w) of dy * xhat, dbeta[c] = sum of dy.
template <typename T>
void groupnorm_backward(const Shape& s, uint32_t groups, std::span<const T> x,
                        std::span<const T> dy, std::span<const T> gamma,
                        std::span<const T> save_mean, std::span<const T> save_invstd,
                        std::span<T> dx, std::span<T> dgamma, std::span<T> dbeta);

}  // namespace vkm::nn::reference
