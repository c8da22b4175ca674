// Plain loops over [N, C, H, W], accumulating in double; the spec the norm_* and batchnorm_*
// shaders are tested against.
#include "nn/reference/batchnorm.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace vkm::nn::reference {
namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("batchnorm reference: ") + what);
}

template <typename T>
void check_affine(const Shape& s, std::span<const T> gamma, std::span<const T> beta) {
  check(gamma.size() == beta.size(), "gamma and beta must both be given or both be empty");
  check(gamma.empty() || gamma.size() == s.c, "gamma and beta must have C values");
}

// Element i of channel c's plane in sample n.
size_t at(const Shape& s, uint32_t n, uint32_t c, size_t i) {
  return (size_t{n} * s.c + c) * s.plane() + i;
}

}  // namespace

template <typename T>
void batchnorm_forward_train(const Shape& s, std::span<const T> x, std::span<const T> gamma,
                             std::span<const T> beta, T eps, T momentum, std::span<T> y,
                             std::span<T> running_mean, std::span<T> running_var,
                             std::span<T> save_mean, std::span<T> save_invstd) {
  check(x.size() == s.numel() && y.size() == s.numel(), "x and y must have N*C*H*W values");
  check_affine(s, gamma, beta);
  check(running_mean.size() == s.c && running_var.size() == s.c,
        "running stats must have C values");
  check(save_mean.size() == s.c && save_invstd.size() == s.c, "saved stats must have C values");
  const double count = static_cast<double>(size_t{s.n} * s.plane());
  for (uint32_t c = 0; c < s.c; ++c) {
    double sum = 0.0;
    for (uint32_t n = 0; n < s.n; ++n) {
      for (size_t i = 0; i < s.plane(); ++i) sum += x[at(s, n, c, i)];
    }
    const double mean = sum / count;
    double sum_sq = 0.0;  // centered: exact where E[x^2] - E[x]^2 would cancel
    for (uint32_t n = 0; n < s.n; ++n) {
      for (size_t i = 0; i < s.plane(); ++i) {
        const double d = x[at(s, n, c, i)] - mean;
        sum_sq += d * d;
      }
    }
    const double var = sum_sq / count;  // biased: normalizes
    const double invstd = 1.0 / std::sqrt(var + eps);
    const double g = gamma.empty() ? 1.0 : double{gamma[c]};
    const double b = beta.empty() ? 0.0 : double{beta[c]};
    for (uint32_t n = 0; n < s.n; ++n) {
      for (size_t i = 0; i < s.plane(); ++i) {
        const size_t j = at(s, n, c, i);
        y[j] = static_cast<T>((x[j] - mean) * invstd * g + b);
      }
    }
    const double unbiased = sum_sq / std::max(count - 1.0, 1.0);
    running_mean[c] = static_cast<T>((1.0 - momentum) * running_mean[c] + momentum * mean);
    running_var[c] = static_cast<T>((1.0 - momentum) * running_var[c] + momentum * unbiased);
    save_mean[c] = static_cast<T>(mean);
    save_invstd[c] = static_cast<T>(invstd);
  }
}

template <typename T>
void batchnorm_forward_eval(const Shape& s, std::span<const T> x, std::span<const T> gamma,
                            std::span<const T> beta, std::span<const T> running_mean,
                            std::span<const T> running_var, T eps, std::span<T> y) {
  check(x.size() == s.numel() && y.size() == s.numel(), "x and y must have N*C*H*W values");
  check_affine(s, gamma, beta);
  check(running_mean.size() == s.c && running_var.size() == s.c,
        "running stats must have C values");
  for (uint32_t c = 0; c < s.c; ++c) {
    const double invstd = 1.0 / std::sqrt(double{running_var[c]} + eps);
    const double g = gamma.empty() ? 1.0 : double{gamma[c]};
    const double b = beta.empty() ? 0.0 : double{beta[c]};
    for (uint32_t n = 0; n < s.n; ++n) {
      for (size_t i = 0; i < s.plane(); ++i) {
        const size_t j = at(s, n, c, i);
        y[j] = static_cast<T>((x[j] - double{running_mean[c]}) * invstd * g + b);
      }
    }
  }
}

template <typename T>
void batchnorm_backward(const Shape& s, std::span<const T> x, std::span<const T> dy,
                        std::span<const T> gamma, std::span<const T> save_mean,
                        std::span<const T> save_invstd, std::span<T> dx, std::span<T> dgamma,
                        std::span<T> dbeta) {
  check(x.size() == s.numel() && dy.size() == s.numel() && dx.size() == s.numel(),
        "x, dy and dx must have N*C*H*W values");
  check(gamma.empty() || gamma.size() == s.c, "gamma must have C values");
  check(dgamma.size() == dbeta.size() && (dgamma.empty() || dgamma.size() == s.c),
        "dgamma and dbeta must both have C values or both be empty");
  check(save_mean.size() == s.c && save_invstd.size() == s.c, "saved stats must have C values");
  const double count = static_cast<double>(size_t{s.n} * s.plane());
  for (uint32_t c = 0; c < s.c; ++c) {
    const double mean = save_mean[c];
    const double invstd = save_invstd[c];
    double sum_dy = 0.0;
    double sum_dy_xhat = 0.0;
    for (uint32_t n = 0; n < s.n; ++n) {
      for (size_t i = 0; i < s.plane(); ++i) {
        const size_t j = at(s, n, c, i);
        sum_dy += dy[j];
        sum_dy_xhat += dy[j] * (x[j] - mean) * invstd;
      }
    }
    const double g = gamma.empty() ? 1.0 : double{gamma[c]};
    for (uint32_t n = 0; n < s.n; ++n) {
      for (size_t i = 0; i < s.plane(); ++i) {
        const size_t j = at(s, n, c, i);
        const double xhat = (x[j] - mean) * invstd;
        dx[j] = static_cast<T>(g * invstd * (dy[j] - sum_dy / count - xhat * sum_dy_xhat / count));
      }
    }
    if (!dgamma.empty()) {
      dgamma[c] = static_cast<T>(sum_dy_xhat);
      dbeta[c] = static_cast<T>(sum_dy);
    }
  }
}

#define VKM_INSTANTIATE(T)                                                                        \
  template void batchnorm_forward_train<T>(const Shape&, std::span<const T>, std::span<const T>,  \
                                           std::span<const T>, T, T, std::span<T>, std::span<T>,  \
                                           std::span<T>, std::span<T>, std::span<T>);             \
  template void batchnorm_forward_eval<T>(const Shape&, std::span<const T>, std::span<const T>,   \
                                          std::span<const T>, std::span<const T>,                 \
                                          std::span<const T>, T, std::span<T>);                   \
  template void batchnorm_backward<T>(const Shape&, std::span<const T>, std::span<const T>,       \
                                      std::span<const T>, std::span<const T>, std::span<const T>, \
                                      std::span<T>, std::span<T>, std::span<T>);
VKM_INSTANTIATE(float)
VKM_INSTANTIATE(double)
#undef VKM_INSTANTIATE

}  // namespace vkm::nn::reference
