// CPU reference of BatchNorm2d (PyTorch semantics): training forward with the batch's per-channel
// statistics (biased variance to normalize, unbiased variance into the running estimate, updated
// with `momentum`), eval forward with the running statistics, and the training backward.
// Empty gamma/beta (and dgamma/dbeta) spans mean no affine: scale 1, shift 0, no parameter grads.
#pragma once

#include <span>

#include "nn/shape.hpp"

namespace vkm::nn::reference {

// x, y: [N, C, H, W]; gamma, beta, running_mean, running_var (read and updated), save_mean,
// save_invstd (written: the batch mean and 1 / sqrt(biased var + eps) that backward needs): [C].
// With a single value per channel (N * H * W == 1) the unbiased variance is taken as 0
// (PyTorch refuses that case in training).
template <typename T>
void batchnorm_forward_train(const Shape& s, std::span<const T> x, std::span<const T> gamma,
                             std::span<const T> beta, T eps, T momentum, std::span<T> y,
                             std::span<T> running_mean, std::span<T> running_var,
                             std::span<T> save_mean, std::span<T> save_invstd);

// y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta; x, y: [N, C, H, W]
template <typename T>
void batchnorm_forward_eval(const Shape& s, std::span<const T> x, std::span<const T> gamma,
                            std::span<const T> beta, std::span<const T> running_mean,
                            std::span<const T> running_var, T eps, std::span<T> y);

// x, dy, dx: [N, C, H, W]; gamma, save_mean, save_invstd, dgamma, dbeta: [C].
// dbeta = sum dy, dgamma = sum dy * xhat, dx = gamma * invstd * (dy - dbeta/M - xhat * dgamma/M)
// with M = N * H * W and xhat = (x - mean) * invstd.
template <typename T>
void batchnorm_backward(const Shape& s, std::span<const T> x, std::span<const T> dy,
                        std::span<const T> gamma, std::span<const T> save_mean,
                        std::span<const T> save_invstd, std::span<T> dx, std::span<T> dgamma,
                        std::span<T> dbeta);

}  // namespace vkm::nn::reference
