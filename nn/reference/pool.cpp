// Plain loops over [N, C, H, W] for max and global average pooling.
#include "nn/reference/pool.hpp"

#include <stdexcept>
#include <string>

namespace vkm::nn::reference {
namespace {

void expect_size(const char* op, const char* what, size_t got, size_t want) {
  if (got != want) {
    throw std::invalid_argument(std::string(op) + ": " + what + " has " + std::to_string(got) +
                                " values, expected " + std::to_string(want));
  }
}

}  // namespace

template <typename T>
void maxpool2d_forward(const Shape& s, std::span<const T> x, std::span<T> y) {
  const uint32_t oh = s.h / 2, ow = s.w / 2;
  expect_size("maxpool2d_forward", "x", x.size(), s.numel());
  expect_size("maxpool2d_forward", "y", y.size(), size_t{s.n} * s.c * oh * ow);
  for (size_t plane = 0; plane < size_t{s.n} * s.c; ++plane) {
    const T* in = x.data() + plane * s.plane();
    T* out = y.data() + plane * oh * ow;
    for (uint32_t oy = 0; oy < oh; ++oy) {
      for (uint32_t ox = 0; ox < ow; ++ox) {
        T best = in[size_t{2 * oy} * s.w + 2 * ox];
        for (uint32_t dy = 0; dy < 2; ++dy) {
          for (uint32_t dx = 0; dx < 2; ++dx) {
            const T v = in[size_t{2 * oy + dy} * s.w + 2 * ox + dx];
            if (v > best) best = v;
          }
        }
        out[size_t{oy} * ow + ox] = best;
      }
    }
  }
}

template <typename T>
void maxpool2d_backward(const Shape& s, std::span<const T> x, std::span<const T> dy,
                        std::span<T> dx) {
  const uint32_t oh = s.h / 2, ow = s.w / 2;
  expect_size("maxpool2d_backward", "x", x.size(), s.numel());
  expect_size("maxpool2d_backward", "dy", dy.size(), size_t{s.n} * s.c * oh * ow);
  expect_size("maxpool2d_backward", "dx", dx.size(), s.numel());
  for (auto& v : dx) v = T(0);
  for (size_t plane = 0; plane < size_t{s.n} * s.c; ++plane) {
    const T* in = x.data() + plane * s.plane();
    const T* grad = dy.data() + plane * oh * ow;
    T* out = dx.data() + plane * s.plane();
    for (uint32_t oy = 0; oy < oh; ++oy) {
      for (uint32_t ox = 0; ox < ow; ++ox) {
        size_t arg = size_t{2 * oy} * s.w + 2 * ox;  // first maximum in row-major order
        for (uint32_t wy = 0; wy < 2; ++wy) {
          for (uint32_t wx = 0; wx < 2; ++wx) {
            const size_t i = size_t{2 * oy + wy} * s.w + 2 * ox + wx;
            if (in[i] > in[arg]) arg = i;
          }
        }
        out[arg] = grad[size_t{oy} * ow + ox];
      }
    }
  }
}

template <typename T>
void avgpool_global_forward(const Shape& s, std::span<const T> x, std::span<T> y) {
  expect_size("avgpool_global_forward", "x", x.size(), s.numel());
  expect_size("avgpool_global_forward", "y", y.size(), size_t{s.n} * s.c);
  for (size_t plane = 0; plane < y.size(); ++plane) {
    double sum = 0.0;
    for (size_t i = 0; i < s.plane(); ++i) sum += x[plane * s.plane() + i];
    y[plane] = static_cast<T>(sum / static_cast<double>(s.plane()));
  }
}

template <typename T>
void avgpool_global_backward(const Shape& s, std::span<const T> dy, std::span<T> dx) {
  expect_size("avgpool_global_backward", "dy", dy.size(), size_t{s.n} * s.c);
  expect_size("avgpool_global_backward", "dx", dx.size(), s.numel());
  for (size_t plane = 0; plane < dy.size(); ++plane) {
    const T g = static_cast<T>(static_cast<double>(dy[plane]) / static_cast<double>(s.plane()));
    for (size_t i = 0; i < s.plane(); ++i) dx[plane * s.plane() + i] = g;
  }
}

#define VKM_INSTANTIATE(T)                                                                  \
  template void maxpool2d_forward<T>(const Shape&, std::span<const T>, std::span<T>);       \
  template void maxpool2d_backward<T>(const Shape&, std::span<const T>, std::span<const T>, \
                                      std::span<T>);                                        \
  template void avgpool_global_forward<T>(const Shape&, std::span<const T>, std::span<T>);  \
  template void avgpool_global_backward<T>(const Shape&, std::span<const T>, std::span<T>);
VKM_INSTANTIATE(float)
VKM_INSTANTIATE(double)
#undef VKM_INSTANTIATE

}  // namespace vkm::nn::reference
