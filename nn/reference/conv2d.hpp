// CPU reference of conv2d (no bias, stride 1, zero padding `pad` on every side): forward,
// backward to the input and backward to the weight, as plain loops accumulated in double. The
// spec the conv2d_*.comp shaders are tested against; templated so the tests can check the
// backward ops by finite differences in double.
#pragma once

#include <cstdint>
#include <span>

namespace vkm::nn::reference {

struct Conv2dGeometry {
  uint32_t n, c_in, h, w, c_out, k, pad;
  uint32_t h_out() const { return h + 2 * pad - k + 1; }
  uint32_t w_out() const { return w + 2 * pad - k + 1; }
};

// x [n, c_in, h, w], weight [c_out, c_in, k, k] (OIHW), y [n, c_out, h_out, w_out]
//   y[n, o, i, j] = sum_{c, a, b} x[n, c, i + a - pad, j + b - pad] * weight[o, c, a, b]
// (x is zero outside [0, h) x [0, w)).
template <typename T>
void conv2d_forward(const Conv2dGeometry& g, std::span<const T> x, std::span<const T> weight,
                    std::span<T> y);

// dy [n, c_out, h_out, w_out], weight [c_out, c_in, k, k] -> dx [n, c_in, h, w] (overwritten)
template <typename T>
void conv2d_backward_input(const Conv2dGeometry& g, std::span<const T> dy,
                           std::span<const T> weight, std::span<T> dx);

// x [n, c_in, h, w], dy [n, c_out, h_out, w_out] -> dweight [c_out, c_in, k, k] (overwritten)
template <typename T>
void conv2d_backward_weight(const Conv2dGeometry& g, std::span<const T> x, std::span<const T> dy,
                            std::span<T> dweight);

}  // namespace vkm::nn::reference
