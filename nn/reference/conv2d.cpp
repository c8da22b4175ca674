// Plain loops over the convolution sum, one per direction; every sum accumulates in double.
#include "nn/reference/conv2d.hpp"

#include <stdexcept>
#include <string>

namespace vkm::nn::reference {

namespace {

// Throws std::invalid_argument unless the geometry is a valid convolution and the spans hold
// exactly the tensors it describes.
void check(const Conv2dGeometry& g, const char* op, size_t x, size_t weight, size_t y) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument(std::string(op) + ": " + why);
  };
  if (g.n == 0 || g.c_in == 0 || g.c_out == 0 || g.h == 0 || g.w == 0 || g.k == 0)
    fail("zero extent");
  if (g.h + 2 * g.pad < g.k || g.w + 2 * g.pad < g.k) fail("kernel larger than the padded input");
  if (x != size_t{g.n} * g.c_in * g.h * g.w) fail("input size does not match the geometry");
  if (weight != size_t{g.c_out} * g.c_in * g.k * g.k)
    fail("weight size does not match the geometry");
  if (y != size_t{g.n} * g.c_out * g.h_out() * g.w_out())
    fail("output size does not match the geometry");
}

// Flat indices into the three NCHW / OIHW tensors.
struct Index {
  const Conv2dGeometry& g;
  size_t x(uint32_t n, uint32_t c, uint32_t i, uint32_t j) const {
    return ((size_t{n} * g.c_in + c) * g.h + i) * g.w + j;
  }
  size_t w(uint32_t o, uint32_t c, uint32_t a, uint32_t b) const {
    return ((size_t{o} * g.c_in + c) * g.k + a) * g.k + b;
  }
  size_t y(uint32_t n, uint32_t o, uint32_t i, uint32_t j) const {
    return ((size_t{n} * g.c_out + o) * g.h_out() + i) * g.w_out() + j;
  }
};

// The input row/column that output position `out` reads through kernel tap `tap`, or -1 when it
// falls in the zero padding.
int64_t source(uint32_t out, uint32_t tap, uint32_t pad, uint32_t extent) {
  const int64_t s = int64_t{out} + tap - pad;
  return s >= 0 && s < extent ? s : -1;
}

}  // namespace

template <typename T>
void conv2d_forward(const Conv2dGeometry& g, std::span<const T> x, std::span<const T> weight,
                    std::span<T> y) {
  check(g, "conv2d_forward", x.size(), weight.size(), y.size());
  const Index at{g};
  for (uint32_t n = 0; n < g.n; ++n) {
    for (uint32_t o = 0; o < g.c_out; ++o) {
      for (uint32_t i = 0; i < g.h_out(); ++i) {
        for (uint32_t j = 0; j < g.w_out(); ++j) {
          double sum = 0.0;
          for (uint32_t c = 0; c < g.c_in; ++c) {
            for (uint32_t a = 0; a < g.k; ++a) {
              const int64_t si = source(i, a, g.pad, g.h);
              if (si < 0) continue;
              for (uint32_t b = 0; b < g.k; ++b) {
                const int64_t sj = source(j, b, g.pad, g.w);
                if (sj < 0) continue;
                sum += double{x[at.x(n, c, uint32_t(si), uint32_t(sj))]} *
                       double{weight[at.w(o, c, a, b)]};
              }
            }
          }
          y[at.y(n, o, i, j)] = static_cast<T>(sum);
        }
      }
    }
  }
}

// dx[n, c, si, sj] collects dy[n, o, i, j] * weight[o, c, a, b] over every (o, i, j, a, b) with
// si = i + a - pad, sj = j + b - pad: the transpose of the forward sum, gathered per dx element.
template <typename T>
void conv2d_backward_input(const Conv2dGeometry& g, std::span<const T> dy,
                           std::span<const T> weight, std::span<T> dx) {
  check(g, "conv2d_backward_input", dx.size(), weight.size(), dy.size());
  const Index at{g};
  for (uint32_t n = 0; n < g.n; ++n) {
    for (uint32_t c = 0; c < g.c_in; ++c) {
      for (uint32_t si = 0; si < g.h; ++si) {
        for (uint32_t sj = 0; sj < g.w; ++sj) {
          double sum = 0.0;
          for (uint32_t o = 0; o < g.c_out; ++o) {
            for (uint32_t a = 0; a < g.k; ++a) {
              const int64_t i =
                  int64_t{si} + g.pad - a;  // the output row that reads si through tap a
              if (i < 0 || i >= g.h_out()) continue;
              for (uint32_t b = 0; b < g.k; ++b) {
                const int64_t j = int64_t{sj} + g.pad - b;
                if (j < 0 || j >= g.w_out()) continue;
                sum += double{dy[at.y(n, o, uint32_t(i), uint32_t(j))]} *
                       double{weight[at.w(o, c, a, b)]};
              }
            }
          }
          dx[at.x(n, c, si, sj)] = static_cast<T>(sum);
        }
      }
    }
  }
}

template <typename T>
void conv2d_backward_weight(const Conv2dGeometry& g, std::span<const T> x, std::span<const T> dy,
                            std::span<T> dweight) {
  check(g, "conv2d_backward_weight", x.size(), dweight.size(), dy.size());
  const Index at{g};
  for (uint32_t o = 0; o < g.c_out; ++o) {
    for (uint32_t c = 0; c < g.c_in; ++c) {
      for (uint32_t a = 0; a < g.k; ++a) {
        for (uint32_t b = 0; b < g.k; ++b) {
          double sum = 0.0;
          for (uint32_t n = 0; n < g.n; ++n) {
            for (uint32_t i = 0; i < g.h_out(); ++i) {
              const int64_t si = source(i, a, g.pad, g.h);
              if (si < 0) continue;
              for (uint32_t j = 0; j < g.w_out(); ++j) {
                const int64_t sj = source(j, b, g.pad, g.w);
                if (sj < 0) continue;
                sum += double{dy[at.y(n, o, i, j)]} *
                       double{x[at.x(n, c, uint32_t(si), uint32_t(sj))]};
              }
            }
          }
          dweight[at.w(o, c, a, b)] = static_cast<T>(sum);
        }
      }
    }
  }
}

template void conv2d_forward<float>(const Conv2dGeometry&, std::span<const float>,
                                    std::span<const float>, std::span<float>);
template void conv2d_forward<double>(const Conv2dGeometry&, std::span<const double>,
                                     std::span<const double>, std::span<double>);
template void conv2d_backward_input<float>(const Conv2dGeometry&, std::span<const float>,
                                           std::span<const float>, std::span<float>);
template void conv2d_backward_input<double>(const Conv2dGeometry&, std::span<const double>,
                                            std::span<const double>, std::span<double>);
template void conv2d_backward_weight<float>(const Conv2dGeometry&, std::span<const float>,
                                            std::span<const float>, std::span<float>);
template void conv2d_backward_weight<double>(const Conv2dGeometry&, std::span<const double>,
                                             std::span<const double>, std::span<double>);

}  // namespace vkm::nn::reference
