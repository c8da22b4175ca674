// Digit images for `vkmnist predict`: PNG decoding (libpng's simplified API) and the MNIST-like
// preparation (polarity, crop, scale to 20x20, centre of mass at the centre of 28x28).
#include "apps/vkmnist/digit_image.hpp"

#include <fmt/format.h>
#include <png.h>

#include <algorithm>
#include <cmath>

#include "engine/error.hpp"

namespace vkmnist {
namespace {

constexpr uint32_t kSide = 28;  // MNIST's image
constexpr double kBox = 20.0;   // the digit's bounding box in it
constexpr uint32_t kMaxSide = 16384;

}  // namespace

GreyImage read_png_grey(const std::filesystem::path& file) {
  namespace fs = std::filesystem;
  if (!fs::exists(file)) throw vkm::Error(fmt::format("{}: no such file", file.string()));
  if (fs::is_directory(file)) {
    throw vkm::Error(fmt::format("{}: a folder, not a PNG file", file.string()));
  }
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_file(&image, file.c_str()) == 0) {
    // libpng's words: "Not a PNG file", or "Read Error" for one that ends early.
    const std::string why = image.message;
    throw vkm::Error(
        fmt::format("{}: cannot read it as a PNG ({})", file.string(),
                    why == "Read Error" ? "it ends early: truncated or corrupt" : why));
  }
  if (image.width == 0 || image.height == 0 || image.width > kMaxSide || image.height > kMaxSide) {
    png_image_free(&image);
    throw vkm::Error(fmt::format("{}: a {}x{} image (predict takes 1..{} pixels a side)",
                                 file.string(), image.width, image.height, kMaxSide));
  }
  image.format = PNG_FORMAT_GRAY;
  GreyImage out{image.width, image.height, std::vector<uint8_t>(PNG_IMAGE_SIZE(image))};
  const png_color white{255, 255, 255};  // transparency composited onto paper
  if (png_image_finish_read(&image, &white, out.pixels.data(), 0, nullptr) == 0) {
    const std::string why = image.message;
    png_image_free(&image);
    throw vkm::Error(fmt::format("{}: cannot decode it ({})", file.string(), why));
  }
  return out;
}

std::vector<uint8_t> prepare_digit(const GreyImage& image, DigitPreparation* what) {
  DigitPreparation info;
  const uint32_t w = image.width, h = image.height;
  std::vector<double> v(image.pixels.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = image.pixels[i] / 255.0;

  // Polarity and paper: the outermost ring of pixels is background. MNIST's strokes are light on
  // black, so a light background is inverted; what is left of the background's level is removed.
  double ring = 0.0;
  uint32_t ring_count = 0;
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) {
      if (y != 0 && y + 1 != h && x != 0 && x + 1 != w) continue;
      ring += v[size_t{y} * w + x];
      ++ring_count;
    }
  }
  ring /= ring_count;
  info.inverted = ring > 0.5;
  if (info.inverted) {
    for (double& p : v) p = 1.0 - p;
    ring = 1.0 - ring;
  }
  double peak = 0.0;
  for (double p : v) peak = std::max(peak, p);
  std::vector<uint8_t> out(kSide * kSide, 0);
  if (peak - ring < 0.1) {  // nothing stands out from the background
    info.empty = true;
    if (what != nullptr) *what = info;
    return out;
  }
  for (double& p : v) p = std::clamp((p - ring) / (peak - ring), 0.0, 1.0);

  // The strokes' bounding box (pixels above a fifth of full ink).
  uint32_t x0 = w, y0 = h, x1 = 0, y1 = 0;
  for (uint32_t y = 0; y < h; ++y) {
    for (uint32_t x = 0; x < w; ++x) {
      if (v[size_t{y} * w + x] <= 0.2) continue;
      x0 = std::min(x0, x);
      y0 = std::min(y0, y);
      x1 = std::max(x1, x + 1);
      y1 = std::max(y1, y + 1);
    }
  }
  const uint32_t box_width = x1 - x0, box_height = y1 - y0;

  // Scaled so the longer side is 20 pixels: each target pixel is the mean of k x k bilinear
  // samples of its footprint in the source (area averaging when shrinking).
  const double scale = kBox / std::max(box_width, box_height);
  const uint32_t tw = std::max(1u, static_cast<uint32_t>(std::lround(box_width * scale)));
  const uint32_t th = std::max(1u, static_cast<uint32_t>(std::lround(box_height * scale)));
  const int k = std::clamp(static_cast<int>(std::ceil(2.0 / scale)), 2, 32);
  const auto at = [&](double x, double y) {  // bilinear, zero outside
    const double fx = std::floor(x - 0.5), fy = std::floor(y - 0.5);
    const double ax = x - 0.5 - fx, ay = y - 0.5 - fy;
    double sum = 0.0;
    for (int dy = 0; dy < 2; ++dy) {
      for (int dx = 0; dx < 2; ++dx) {
        const long px = static_cast<long>(fx) + dx, py = static_cast<long>(fy) + dy;
        if (px < 0 || py < 0 || px >= long{w} || py >= long{h}) continue;
        sum += (dx ? ax : 1.0 - ax) * (dy ? ay : 1.0 - ay) * v[size_t(py) * w + size_t(px)];
      }
    }
    return sum;
  };
  std::vector<double> patch(size_t{tw} * th);
  double mass = 0.0, mx = 0.0, my = 0.0;
  for (uint32_t ty = 0; ty < th; ++ty) {
    for (uint32_t tx = 0; tx < tw; ++tx) {
      double sum = 0.0;
      for (int sy = 0; sy < k; ++sy) {
        for (int sx = 0; sx < k; ++sx) {
          sum += at(x0 + (tx + (sx + 0.5) / k) / scale, y0 + (ty + (sy + 0.5) / k) / scale);
        }
      }
      const double p = sum / (k * k);
      patch[size_t{ty} * tw + tx] = p;
      mass += p;
      mx += p * (tx + 0.5);
      my += p * (ty + 0.5);
    }
  }
  // Placed with its centre of mass at the image's centre, kept inside the image.
  const auto offset = [&](double centre, uint32_t extent) {
    const long o = std::lround(kSide / 2.0 - centre);
    return std::clamp(o, 0L, long{kSide} - long{extent});
  };
  const long ox = offset(mass > 0 ? mx / mass : tw / 2.0, tw);
  const long oy = offset(mass > 0 ? my / mass : th / 2.0, th);
  for (uint32_t ty = 0; ty < th; ++ty) {
    for (uint32_t tx = 0; tx < tw; ++tx) {
      const double p = std::clamp(patch[size_t{ty} * tw + tx], 0.0, 1.0);
      out[size_t(oy + ty) * kSide + size_t(ox + tx)] = static_cast<uint8_t>(std::lround(255.0 * p));
    }
  }
  if (what != nullptr) *what = info;
  return out;
}

}  // namespace vkmnist
