// CPU reference of the batch gather: one image of bytes -> normalized floats, rotated and shifted
// (training augmentation) about its centre with bilinear sampling and zero fill in pixel space, as
// torchvision's RandomRotation followed by Normalize does. shaders/gather_batch.comp performs
// the same float operations in the same order, so the two agree to the last bit or nearly so.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vkm::nn::reference {

// Mixed into the run's seed so augmentation angles are a stream of their own (mirrored in
// shaders/gather_batch.comp).
inline constexpr uint32_t kAugmentationSalt = 0x61756721u;  // "aug!"
inline constexpr uint32_t kShiftXSalt = 0x73686678u;        // "shfx"
inline constexpr uint32_t kShiftYSalt = 0x73686679u;        // "shfy"
// pi / 180 as a float; the shader spells the same literal.
inline constexpr float kRadiansPerDegree = 0.0174532925f;

// The rotation angle in degrees for a sample (its index in the data set) in an epoch: uniform
// in [-max_degrees, max_degrees).
float augmentation_angle(uint32_t seed, uint32_t epoch, uint32_t sample, float max_degrees);

struct Shift {
  int x = 0;
  int y = 0;
};
// The shift in whole pixels for a sample in an epoch: x and y each uniform in
// [-max_shift, max_shift], from streams of their own.
Shift augmentation_shift(uint32_t seed, uint32_t epoch, uint32_t sample, uint32_t max_shift);

struct SinCos {
  float sin = 0.0f;
  float cos = 1.0f;
};
// sin and cos of |radians| <= pi from fixed Taylor polynomials (through x^19 and x^18) in float
// multiplies and adds, which the shader evaluates in the same order: the driver's sin/cos carry
// no precision guarantee worth the name, these agree bit for bit. Error below 1e-7 for |x| <= 0.5,
// 5e-7 up to pi.
SinCos rotation_sin_cos(float radians);

// One image (rows x cols bytes) -> normalized floats [rows, cols], rotated counter-clockwise by
// `degrees` about ((cols-1)/2, (rows-1)/2), then its content moved by `shift` pixels (bilinear,
// zero fill in pixel space), then (v/255 - mean)/std, computed as (v * (1/255) - mean) * (1/std)
// like the shader.
std::vector<float> gather_image(std::span<const uint8_t> image, uint32_t rows, uint32_t cols,
                                float degrees, float mean, float std, Shift shift = {});

}  // namespace vkm::nn::reference
