// Plain loops over [N, C, H, W], accumulating in double; the spec the norm_* and groupnorm_*
// shaders are tested against. In NCHW a group of sample n is one contiguous run of C / groups
// planes.
#include "nn/reference/groupnorm.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace vkm::nn::reference {
namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::invalid_argument(std::string("groupnorm reference: ") + what);
}

void check_groups(const Shape& s, uint32_t groups) {
  check(groups > 0 && s.c % groups == 0, "groups must divide the channel count");
}

}  // namespace

template <typename T>
void groupnorm_forward(const Shape& s, uint32_t groups, std::span<const T> x,
                       std::span<const T> gamma, std::span<const T> beta, T eps, std::span<T> y,
                       std::span<T> save_mean, std::span<T> save_invstd) {
  check_groups(s, groups);
  check(x.size() == s.numel() && y.size() == s.numel(), "x and y must have N*C*H*W values");
  check(gamma.size() == beta.size() && (gamma.empty() || gamma.size() == s.c),
        "gamma and beta must both have C values or both be empty");
  check(save_mean.size() == size_t{s.n} * groups && save_invstd.size() == save_mean.size(),
        "saved stats must have N*groups values");
  const uint32_t channels = s.c / groups;  // per group
  const size_t count = size_t{channels} * s.plane();
  for (uint32_t n = 0; n < s.n; ++n) {
    for (uint32_t g = 0; g < groups; ++g) {
      const size_t segment = size_t{n} * groups + g;
      const size_t begin = segment * count;  // the group's planes are contiguous
      double sum = 0.0;
      for (size_t i = 0; i < count; ++i) sum += x[begin + i];
      const double mean = sum / static_cast<double>(count);
      double sum_sq = 0.0;
      for (size_t i = 0; i < count; ++i) {
        const double d = x[begin + i] - mean;
        sum_sq += d * d;
      }
      const double invstd = 1.0 / std::sqrt(sum_sq / static_cast<double>(count) + eps);
      for (size_t i = 0; i < count; ++i) {
        const uint32_t c = g * channels + static_cast<uint32_t>(i / s.plane());
        const double scale = gamma.empty() ? 1.0 : double{gamma[c]};
        const double shift = beta.empty() ? 0.0 : double{beta[c]};
        y[begin + i] = static_cast<T>((x[begin + i] - mean) * invstd * scale + shift);
      }
      save_mean[segment] = static_cast<T>(mean);
      save_invstd[segment] = static_cast<T>(invstd);
    }
  }
}

template <typename T>
void groupnorm_backward(const Shape& s, uint32_t groups, std::span<const T> x,
                        std::span<const T> dy, std::span<const T> gamma,
                        std::span<const T> save_mean, std::span<const T> save_invstd,
                        std::span<T> dx, std::span<T> dgamma, std::span<T> dbeta) {
  check_groups(s, groups);
  check(x.size() == s.numel() && dy.size() == s.numel() && dx.size() == s.numel(),
        "x, dy and dx must have N*C*H*W values");
  check(gamma.empty() || gamma.size() == s.c, "gamma must have C values");
  check(dgamma.size() == dbeta.size() && (dgamma.empty() || dgamma.size() == s.c),
        "dgamma and dbeta must both have C values or both be empty");
  check(save_mean.size() == size_t{s.n} * groups && save_invstd.size() == save_mean.size(),
        "saved stats must have N*groups values");
  const uint32_t channels = s.c / groups;
  const size_t count = size_t{channels} * s.plane();
  std::vector<double> sum_dy(s.c, 0.0);
  std::vector<double> sum_dy_xhat(s.c, 0.0);
  for (uint32_t n = 0; n < s.n; ++n) {
    for (uint32_t g = 0; g < groups; ++g) {
      const size_t segment = size_t{n} * groups + g;
      const size_t begin = segment * count;
      const double mean = save_mean[segment];
      const double invstd = save_invstd[segment];
      auto channel = [&](size_t i) { return g * channels + static_cast<uint32_t>(i / s.plane()); };
      auto scale = [&](size_t i) { return gamma.empty() ? 1.0 : double{gamma[channel(i)]}; };
      double mean_dxhat = 0.0;
      double mean_dxhat_xhat = 0.0;
      for (size_t i = 0; i < count; ++i) {
        const double xhat = (x[begin + i] - mean) * invstd;
        const double dxhat = dy[begin + i] * scale(i);
        mean_dxhat += dxhat;
        mean_dxhat_xhat += dxhat * xhat;
        sum_dy[channel(i)] += dy[begin + i];
        sum_dy_xhat[channel(i)] += dy[begin + i] * xhat;
      }
      mean_dxhat /= static_cast<double>(count);
      mean_dxhat_xhat /= static_cast<double>(count);
      for (size_t i = 0; i < count; ++i) {
        const double xhat = (x[begin + i] - mean) * invstd;
        const double dxhat = dy[begin + i] * scale(i);
        dx[begin + i] = static_cast<T>(invstd * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat));
      }
    }
  }
  if (!dgamma.empty()) {
    for (uint32_t c = 0; c < s.c; ++c) {
      dgamma[c] = static_cast<T>(sum_dy_xhat[c]);
      dbeta[c] = static_cast<T>(sum_dy[c]);
    }
  }
}

#define VKM_INSTANTIATE(T)                                                                    \
  template void groupnorm_forward<T>(const Shape&, uint32_t, std::span<const T>,              \
                                     std::span<const T>, std::span<const T>, T, std::span<T>, \
                                     std::span<T>, std::span<T>);                             \
  template void groupnorm_backward<T>(                                                        \
      const Shape&, uint32_t, std::span<const T>, std::span<const T>, std::span<const T>,     \
      std::span<const T>, std::span<const T>, std::span<T>, std::span<T>, std::span<T>);
VKM_INSTANTIATE(float)
VKM_INSTANTIATE(double)
#undef VKM_INSTANTIATE

}  // namespace vkm::nn::reference
