// Plain loops for ReLU and dropout.
#include "nn/reference/activation.hpp"

#include <stdexcept>
#include <string>

#include "nn/reference/rng.hpp"

namespace vkm::nn::reference {
namespace {

void expect_same_size(const char* op, size_t a, size_t b) {
  if (a != b) {
    throw std::invalid_argument(std::string(op) + ": input has " + std::to_string(a) +
                                " values, output " + std::to_string(b));
  }
}

void expect_rate(const char* op, float p) {
  if (!(p >= 0.0f && p < 1.0f)) {
    throw std::invalid_argument(std::string(op) + ": the drop probability must be in [0, 1), got " +
                                std::to_string(p));
  }
}

// The mask applied to a value: 0 where dropped, 1 / (1 - p) where kept.
template <typename T>
void apply_mask(float p, uint32_t seed, uint32_t salt, uint32_t global_step, std::span<const T> in,
                std::span<T> out) {
  const double scale = 1.0 / (1.0 - static_cast<double>(p));
  for (size_t i = 0; i < in.size(); ++i) {
    const bool keep = dropout_keep(seed, salt, global_step, static_cast<uint32_t>(i), p);
    out[i] = keep ? static_cast<T>(static_cast<double>(in[i]) * scale) : T(0);
  }
}

}  // namespace

template <typename T>
void relu_forward(std::span<const T> x, std::span<T> y) {
  expect_same_size("relu_forward", x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}

template <typename T>
void relu_backward(std::span<const T> y, std::span<const T> dy, std::span<T> dx) {
  expect_same_size("relu_backward", y.size(), dx.size());
  expect_same_size("relu_backward", dy.size(), dx.size());
  for (size_t i = 0; i < y.size(); ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
}

bool dropout_keep(uint32_t seed, uint32_t salt, uint32_t global_step, uint32_t index, float p) {
  return rng_uniform(seed ^ salt, global_step, index) >= p;
}

template <typename T>
void dropout_forward(float p, uint32_t seed, uint32_t salt, uint32_t global_step,
                     std::span<const T> x, std::span<T> y) {
  expect_same_size("dropout_forward", x.size(), y.size());
  expect_rate("dropout_forward", p);
  apply_mask(p, seed, salt, global_step, x, y);
}

template <typename T>
void dropout_backward(float p, uint32_t seed, uint32_t salt, uint32_t global_step,
                      std::span<const T> dy, std::span<T> dx) {
  expect_same_size("dropout_backward", dy.size(), dx.size());
  expect_rate("dropout_backward", p);
  apply_mask(p, seed, salt, global_step, dy, dx);
}

#define VKM_INSTANTIATE(T)                                                                   \
  template void relu_forward<T>(std::span<const T>, std::span<T>);                           \
  template void relu_backward<T>(std::span<const T>, std::span<const T>, std::span<T>);      \
  template void dropout_forward<T>(float, uint32_t, uint32_t, uint32_t, std::span<const T>,  \
                                   std::span<T>);                                            \
  template void dropout_backward<T>(float, uint32_t, uint32_t, uint32_t, std::span<const T>, \
                                    std::span<T>);
VKM_INSTANTIATE(float)
VKM_INSTANTIATE(double)
#undef VKM_INSTANTIATE

}  // namespace vkm::nn::reference
