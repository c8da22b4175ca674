// CPU reference of the pooling ops: 2x2 max pooling with stride 2 (floor for odd sizes, as
// PyTorch) and global average pooling, forward and backward. The spec maxpool2d_*.comp and
// avgpool_global_*.comp are tested against.
#pragma once

#include <span>

#include "nn/shape.hpp"

namespace vkm::nn::reference {

// x: [N, C, H, W] -> y: [N, C, H/2, W/2]; the last row/column of an odd size is dropped.
template <typename T>
void maxpool2d_forward(const Shape& x_shape, std::span<const T> x, std::span<T> y);

// dy: [N, C, H/2, W/2] -> dx: [N, C, H, W]. Each window's gradient goes to its first maximum in
// row-major order; every other element (and a dropped odd row/column) gets zero.
template <typename T>
void maxpool2d_backward(const Shape& x_shape, std::span<const T> x, std::span<const T> dy,
                        std::span<T> dx);

// x: [N, C, H, W] -> y: [N, C] (the mean of each H x W plane).
template <typename T>
void avgpool_global_forward(const Shape& x_shape, std::span<const T> x, std::span<T> y);

// dy: [N, C] -> dx: [N, C, H, W] = dy / (H * W) over each plane.
template <typename T>
void avgpool_global_backward(const Shape& x_shape, std::span<const T> dy, std::span<T> dx);

}  // namespace vkm::nn::reference
