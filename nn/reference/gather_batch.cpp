// The batch gather worked out on the CPU, one image at a time, with the float operations in the
// order the shader uses. Products and sums are separate statements so no compiler contracts them
// into fused multiply-adds (GLM's mat2 * vec2 is one expression: ISO C++ mode, which the build
// uses, keeps GCC from fusing it; a fused one would differ by an ulp, far inside the tolerance).
#include "nn/reference/gather_batch.hpp"

#include <array>
#include <cmath>
#include <glm/glm.hpp>
#include <stdexcept>

#include "nn/reference/rng.hpp"

namespace vkm::nn::reference {
namespace {

// Taylor coefficients (-1)^k / (2k+1)! and (-1)^k / (2k)!, highest first, as floats; the shader
// spells the same literals.
constexpr std::array<float, 9> kSin = {-8.220635078e-18f, 2.811457359e-15f,  -7.647163610e-13f,
                                       1.605904437e-10f,  -2.505210794e-08f, 2.755731884e-06f,
                                       -1.984127011e-04f, 8.333333768e-03f,  -1.666666716e-01f};
constexpr std::array<float, 9> kCos = {-1.561920681e-16f, 4.779477256e-14f,  -1.147074536e-11f,
                                       2.087675588e-09f,  -2.755731998e-07f, 2.480158764e-05f,
                                       -1.388888923e-03f, 4.166666791e-02f,  -5.000000000e-01f};

}  // namespace

float augmentation_angle(uint32_t seed, uint32_t epoch, uint32_t sample, float max_degrees) {
  const float u = rng_uniform(seed ^ kAugmentationSalt, epoch, sample);  // [0, 1)
  const float signed_unit = u * 2.0f - 1.0f;                             // exact: [-1, 1)
  return signed_unit * max_degrees;
}

Shift augmentation_shift(uint32_t seed, uint32_t epoch, uint32_t sample, uint32_t max_shift) {
  const uint32_t span = 2 * max_shift + 1;
  const auto draw = [&](uint32_t salt) {
    return static_cast<int>(rng_u32(seed ^ salt, epoch, sample) % span) -
           static_cast<int>(max_shift);
  };
  return {draw(kShiftXSalt), draw(kShiftYSalt)};
}

SinCos rotation_sin_cos(float radians) {
  const float x2 = radians * radians;
  float s = kSin[0];
  float c = kCos[0];
  for (size_t k = 1; k < kSin.size(); ++k) {
    s = s * x2;
    s = s + kSin[k];
    c = c * x2;
    c = c + kCos[k];
  }
  s = s * x2;
  s = s + 1.0f;
  c = c * x2;
  c = c + 1.0f;
  return {radians * s, c};
}

std::vector<float> gather_image(std::span<const uint8_t> image, uint32_t rows, uint32_t cols,
                                float degrees, float mean, float std, Shift shift) {
  if (image.size() != size_t{rows} * cols) {
    throw std::invalid_argument("gather_image: image size does not match rows x cols");
  }
  const float pixel_scale = 1.0f / 255.0f;
  const float inv_std = 1.0f / std;
  const SinCos sc = rotation_sin_cos(degrees * kRadiansPerDegree);
  // Output pixel p samples the source at centre + R (p - centre): R turns the image
  // counter-clockwise on screen (y down), as torchvision's rotate does for a positive angle.
  const glm::mat2 rotation(sc.cos, sc.sin, -sc.sin, sc.cos);  // columns
  const glm::vec2 centre(static_cast<float>(cols - 1) * 0.5f, static_cast<float>(rows - 1) * 0.5f);
  // A source pixel, zero outside the image (zero in pixel space, before normalization).
  const auto texel = [&](int x, int y) -> float {
    if (x < 0 || y < 0 || x >= static_cast<int>(cols) || y >= static_cast<int>(rows)) return 0.0f;
    return static_cast<float>(image[static_cast<size_t>(y) * cols + static_cast<size_t>(x)]);
  };

  std::vector<float> out(image.size());  // [rows, cols]
  for (uint32_t y = 0; y < rows; ++y) {
    for (uint32_t x = 0; x < cols; ++x) {
      const glm::vec2 offset = glm::vec2(static_cast<float>(x), static_cast<float>(y)) - centre;
      const glm::vec2 turned = rotation * offset;
      const glm::vec2 source =
          (centre + turned) - glm::vec2(static_cast<float>(shift.x), static_cast<float>(shift.y));
      const glm::vec2 corner = glm::floor(source);
      const glm::vec2 far = source - corner;  // bilinear weights of the +1 neighbours
      const glm::vec2 near = 1.0f - far;
      const int x0 = static_cast<int>(corner.x);
      const int y0 = static_cast<int>(corner.y);
      const float w00 = near.x * near.y;
      const float w10 = far.x * near.y;
      const float w01 = near.x * far.y;
      const float w11 = far.x * far.y;
      const float t00 = texel(x0, y0) * w00;
      const float t10 = texel(x0 + 1, y0) * w10;
      const float t01 = texel(x0, y0 + 1) * w01;
      const float t11 = texel(x0 + 1, y0 + 1) * w11;
      const float v = ((t00 + t10) + t01) + t11;
      const float scaled = v * pixel_scale;
      const float centred = scaled - mean;
      out[size_t{y} * cols + x] = centred * inv_std;
    }
  }
  return out;
}

}  // namespace vkm::nn::reference
