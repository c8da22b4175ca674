#version 460
#extension GL_GOOGLE_include_directive : require
// gather_batch: one training or evaluation batch gathered from the data set resident on the
// device. Sample i of the batch is data-set image permutation[batch_start + i]; its bytes are
// normalized ((v/255 - mean)/std) into x: [n, 1, rows, cols] and its label copied to
// batch_labels[i]. In training (rotate != 0) each image is first rotated counter-clockwise by an
// angle uniform in [-max_degrees, max_degrees), a pure function of (seed, epoch, data-set index),
// about ((cols-1)/2, (rows-1)/2), then shifted by whole pixels (sx, sy), each uniform in
// [-max_shift, max_shift] and drawn like the angle, sampled bilinearly with zero fill in pixel
// space.
// Mirrors nn/reference/gather_batch.cpp operation for operation; `precise` keeps the compiler
// from fusing or reordering them, so both sides round identically.
// One invocation per (sample, row): it writes the row's cols pixels.
#include "base.glsl"
#include "clock.glsl"
#include "rng.glsl"

layout(push_constant) uniform Push {
  uint batch_start;    // position in the permutation of the batch's first sample
  uint n;              // samples in this batch (<= the tensor's N)
  uint count;          // images in the data set
  uint rows;
  uint cols;
  uint rotate;         // 1: training augmentation
  float max_degrees;
  float pixel_scale;   // 1/255
  float mean;
  float inv_std;       // 1/std
  uint max_shift;      // training shift of up to this many pixels in x and y
} p;

layout(set = 0, binding = 0) readonly buffer Pixels { uint pixels[]; };  // [count*rows*cols/4] bytes, LE
layout(set = 0, binding = 1) readonly buffer Labels { uint labels[]; };  // [count]
layout(set = 0, binding = 2) readonly buffer Permutation { uint permutation[]; };  // [count]
layout(set = 0, binding = 3) readonly buffer ClockBuffer { Clock clock; };
layout(set = 0, binding = 4) writeonly buffer X { float x[]; };  // [n, 1, rows, cols]
layout(set = 0, binding = 5) writeonly buffer BatchLabels { uint batch_labels[]; };  // [n]

// nn/reference/gather_batch.hpp: kAugmentationSalt, kRadiansPerDegree and the Taylor coefficients.
const uint AUGMENTATION_SALT = 0x61756721u;
const uint SHIFT_X_SALT = 0x73686678u;
const uint SHIFT_Y_SALT = 0x73686679u;
const float RADIANS_PER_DEGREE = 0.0174532925;
const float SIN_COEFFS[9] = float[](-8.220635078e-18, 2.811457359e-15, -7.647163610e-13,
                                    1.605904437e-10, -2.505210794e-08, 2.755731884e-06,
                                    -1.984127011e-04, 8.333333768e-03, -1.666666716e-01);
const float COS_COEFFS[9] = float[](-1.561920681e-16, 4.779477256e-14, -1.147074536e-11,
                                    2.087675588e-09, -2.755731998e-07, 2.480158764e-05,
                                    -1.388888923e-03, 4.166666791e-02, -5.000000000e-01);

// Byte k of the data set, as a float.
float pixel(uint k) { return float((pixels[k >> 2] >> ((k & 3u) * 8u)) & 0xFFu); }

// Source pixel (sx, sy) of the image starting at byte `image`; zero outside it.
float texel(uint image, int sx, int sy) {
  if (sx < 0 || sy < 0 || sx >= int(p.cols) || sy >= int(p.rows)) return 0.0;
  return pixel(image + uint(sy) * p.cols + uint(sx));
}

void main() {
  const uint id = gl_GlobalInvocationID.x;
  const uint i = id / p.rows;  // sample within the batch
  const uint y = id - i * p.rows;
  if (i >= p.n) return;  // no barrier or subgroup op in this kernel
  const uint index = permutation[p.batch_start + i];
  const uint out_row = (i * p.rows + y) * p.cols;
  if (index >= p.count) {  // a corrupt permutation: poison the sample rather than read outside
    for (uint c = 0; c < p.cols; ++c) x[out_row + c] = uintBitsToFloat(0x7FC00000u);
    if (y == 0) batch_labels[i] = 0u;
    return;
  }
  if (y == 0) batch_labels[i] = labels[index];
  const uint image = index * p.rows * p.cols;

  if (p.rotate == 0u) {
    const uint row = image + y * p.cols;
    for (uint c = 0; c < p.cols; ++c) {
      precise float scaled = pixel(row + c) * p.pixel_scale;
      precise float value = (scaled - p.mean) * p.inv_std;
      x[out_row + c] = value;
    }
    return;
  }

  // The angle (reference: augmentation_angle) and its sine and cosine (rotation_sin_cos).
  const float u = rng_uniform(clock.seed ^ AUGMENTATION_SALT, clock.epoch, index);
  precise float degrees = (u * 2.0 - 1.0) * p.max_degrees;
  precise float radians = degrees * RADIANS_PER_DEGREE;
  precise float x2 = radians * radians;
  precise float ps = SIN_COEFFS[0];
  precise float pc = COS_COEFFS[0];
  for (int k = 1; k < 9; ++k) {
    ps = ps * x2 + SIN_COEFFS[k];
    pc = pc * x2 + COS_COEFFS[k];
  }
  precise float sin_a = radians * (ps * x2 + 1.0);
  precise float cos_a = pc * x2 + 1.0;
  precise float neg_sin = -sin_a;

  // The shift (reference: augmentation_shift): whole pixels, added after the rotation.
  const uint span = 2u * p.max_shift + 1u;
  const float shift_x =
      float(int(rng_u32(clock.seed ^ SHIFT_X_SALT, clock.epoch, index) % span) - int(p.max_shift));
  const float shift_y =
      float(int(rng_u32(clock.seed ^ SHIFT_Y_SALT, clock.epoch, index) % span) - int(p.max_shift));

  precise float centre_x = float(p.cols - 1u) * 0.5;
  precise float centre_y = float(p.rows - 1u) * 0.5;
  precise float dy = float(y) - centre_y;
  for (uint c = 0; c < p.cols; ++c) {
    // source = centre + R (pixel - centre) - shift, R = [cos, -sin; sin, cos] (GLM's mat2 * vec2
    // order): the content moves by +shift.
    precise float dx = float(c) - centre_x;
    precise float rx = centre_x + (cos_a * dx + neg_sin * dy);
    precise float ry = centre_y + (sin_a * dx + cos_a * dy);
    precise float sx = rx - shift_x;
    precise float sy = ry - shift_y;
    precise float x0f = floor(sx);
    precise float y0f = floor(sy);
    precise float fx = sx - x0f;
    precise float fy = sy - y0f;
    precise float gx = 1.0 - fx;
    precise float gy = 1.0 - fy;
    const int x0 = int(x0f);
    const int y0 = int(y0f);
    precise float v = ((texel(image, x0, y0) * (gx * gy) + texel(image, x0 + 1, y0) * (fx * gy)) +
                       texel(image, x0, y0 + 1) * (gx * fy)) +
                      texel(image, x0 + 1, y0 + 1) * (fx * fy);
    precise float scaled = v * p.pixel_scale;
    precise float value = (scaled - p.mean) * p.inv_std;
    x[out_row + c] = value;
  }
}
