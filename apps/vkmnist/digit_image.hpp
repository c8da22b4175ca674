// A photo or drawing of one digit, made into an MNIST-like 28x28 image for `vkmnist predict`:
// decoded by libpng (any PNG: grey, colour, palette, alpha, 1-16 bits), then prepared as the
// MNIST digits were — light strokes on black, the strokes' bounding box scaled to fit 20x20
// with its aspect kept, and placed in 28x28 with its centre of mass at the centre.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vkmnist {

struct GreyImage {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // row-major, 0 black .. 255 white
};

// Decodes a PNG into 8-bit grey: colour becomes luminance, transparency is composited onto
// white (a digit drawn on a transparent canvas reads as ink on paper). Throws vkm::Error naming
// the file when it cannot be read or is not a PNG.
GreyImage read_png_grey(const std::filesystem::path& file);

// What prepare_digit did, for the user.
struct DigitPreparation {
  bool inverted = false;  // dark strokes on a light background were inverted
  bool empty = false;     // no strokes found: the image is blank
};

// The 28x28 MNIST-like image (row-major, 0..255) of a digit image.
std::vector<uint8_t> prepare_digit(const GreyImage& image, DigitPreparation* what = nullptr);

}  // namespace vkmnist
