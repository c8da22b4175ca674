// CPU reference of the batch gather: the identity at angle 0, rotations worked out by hand
// (direction, bilinear weights, zero fill in pixel space), shifts by whole pixels, the angle and
// shift distributions, and the polynomial sine and cosine the shader shares.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "nn/reference/gather_batch.hpp"
#include "tests/support/random.hpp"

namespace vkm::nn::reference {
namespace {

constexpr float kMean = 0.1307f;
constexpr float kStd = 0.3081f;

TEST(GatherBatchReference, RotationByZeroIsTheIdentityAfterNormalization) {
  std::mt19937 rng(static_cast<uint32_t>(test::test_seed()));
  std::vector<uint8_t> image(28 * 28);
  for (auto& v : image) v = static_cast<uint8_t>(rng() & 0xFF);
  const auto out = gather_image(image, 28, 28, 0.0f, kMean, kStd);
  ASSERT_EQ(out.size(), image.size());
  for (size_t i = 0; i < image.size(); ++i) {
    const double want = (image[i] / 255.0 - double{kMean}) / double{kStd};
    EXPECT_NEAR(out[i], want, 1e-6) << "pixel " << i;
  }
}

// 5x5, one pixel lit right of the centre (x=3, y=2); mean 0 and std 1 leave v/255.
TEST(GatherBatchReference, SmallRotationWorkedByHand) {
  std::vector<uint8_t> image(25, 0);
  image[2 * 5 + 3] = 255;
  const auto out = gather_image(image, 5, 5, 5.0f, 0.0f, 1.0f);
  const auto at = [&](int x, int y) { return out[static_cast<size_t>(y * 5 + x)]; };
  // Output (3,2) samples the source at centre + R(5 deg) (1, 0) = (2 + cos, 2 + sin)
  // = (2.99619, 2.08716): the lit pixel is its (x0+1, y0) neighbour, weight cos * (1 - sin).
  EXPECT_NEAR(at(3, 2), 0.9093706, 1e-6);
  // Counter-clockwise on screen, the pixel moves up (towards y = 1). Output (3,1) samples
  // (2 + cos + sin, 2 + sin - cos) = (3.08335, 1.09096): weight (1 - 0.08335) * 0.09096.
  EXPECT_NEAR(at(3, 1), 0.0833794, 1e-6);
  // Output (2,1) samples (2 + sin, 2 - cos) = (2.08716, 1.00381): the lit pixel is its
  // (x0+1, y0+1) neighbour, weight sin * (1 - cos).
  EXPECT_NEAR(at(2, 1), 0.00033165, 1e-7);
  // Below the centre line nothing reaches it.
  EXPECT_EQ(at(3, 3), 0.0f);
  EXPECT_EQ(at(2, 3), 0.0f);
  EXPECT_EQ(at(2, 2), 0.0f);
}

TEST(GatherBatchReference, QuarterTurnMovesRightToTop) {
  std::vector<uint8_t> image(25, 0);
  image[2 * 5 + 4] = 200;  // right middle
  const auto out = gather_image(image, 5, 5, 90.0f, 0.0f, 1.0f);
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_NEAR(out[i], i == 0 * 5 + 2 ? 200.0 / 255.0 : 0.0, 1e-5) << "pixel " << i;  // top middle
  }
}

// Zero fill happens in pixel space: outside the image is 0 before normalization, so a white
// image turned 45 degrees has corners (v = 0) that normalize to -mean/std, not to 0.
TEST(GatherBatchReference, ZeroFillInPixelSpace) {
  const std::vector<uint8_t> white(25, 255);
  const auto out = gather_image(white, 5, 5, 45.0f, kMean, kStd);
  const auto normalized = [](double v) { return (v - double{kMean}) / double{kStd}; };
  EXPECT_NEAR(out[2 * 5 + 2], normalized(1.0), 1e-5);  // the centre stays
  // Corner (0,0) samples (2, 2 - 2*sqrt(2)) = (2, -0.82843): only its lower row is inside, with
  // weight 3 - 2*sqrt(2).
  EXPECT_NEAR(out[0], normalized(3.0 - 2.0 * std::numbers::sqrt2), 1e-5);
  // A 28x28 digit-sized image: the far corner samples well outside: exactly -mean/std.
  const std::vector<uint8_t> big(28 * 28, 255);
  const auto turned = gather_image(big, 28, 28, 45.0f, kMean, kStd);
  EXPECT_NEAR(turned[0], normalized(0.0), 1e-6);
}

TEST(GatherBatchReference, AnglesAreUniformWithinMaxDegrees) {
  double sum = 0.0, sum_abs = 0.0;
  float lo = 1e9f, hi = -1e9f;
  size_t changed = 0;
  constexpr uint32_t kSamples = 20000;
  for (uint32_t s = 0; s < kSamples; ++s) {
    const float a = augmentation_angle(1234, 3, s, 7.0f);
    ASSERT_GE(a, -7.0f);
    ASSERT_LT(a, 7.0f);
    EXPECT_EQ(a, augmentation_angle(1234, 3, s, 7.0f));  // a pure function
    lo = std::min(lo, a);
    hi = std::max(hi, a);
    sum += a;
    sum_abs += std::abs(a);
    changed += augmentation_angle(1234, 4, s, 7.0f) != a;
  }
  EXPECT_LT(lo, -6.99f);
  EXPECT_GT(hi, 6.99f);
  EXPECT_NEAR(sum / kSamples, 0.0, 0.1);      // sd of the mean: 7/sqrt(3)/sqrt(20000) = 0.029
  EXPECT_NEAR(sum_abs / kSamples, 3.5, 0.1);  // E|U(-7, 7)| = 3.5
  EXPECT_GT(changed, kSamples * 99 / 100);    // a new epoch, new angles
  EXPECT_NE(augmentation_angle(1, 0, 0, 7.0f), augmentation_angle(2, 0, 0, 7.0f));
  EXPECT_EQ(augmentation_angle(1, 0, 5, 0.0f), 0.0f);
}

// At angle 0 a shift moves whole pixels: output (x, y) is source (x - sx, y - sy), zero where
// that falls outside; on a 13x9 image, so rows and columns are not interchangeable.
TEST(GatherBatchReference, ShiftMovesTheContentByWholePixels) {
  std::mt19937 rng(static_cast<uint32_t>(test::test_seed()));
  constexpr int kCols = 13, kRows = 9;
  std::vector<uint8_t> image(kCols * kRows);
  for (auto& v : image) v = static_cast<uint8_t>(1 + rng() % 255);  // no zero: fill shows
  for (const Shift shift : {Shift{2, -1}, Shift{-3, 4}, Shift{0, 0}, Shift{8, 8}}) {
    const auto out = gather_image(image, kRows, kCols, 0.0f, 0.0f, 1.0f, shift);
    for (int y = 0; y < kRows; ++y) {
      for (int x = 0; x < kCols; ++x) {
        const int sx = x - shift.x, sy = y - shift.y;
        const bool inside = sx >= 0 && sy >= 0 && sx < kCols && sy < kRows;
        const float want =
            inside
                ? static_cast<float>(image[static_cast<size_t>(sy * kCols + sx)]) * (1.0f / 255.0f)
                : 0.0f;
        ASSERT_EQ(out[static_cast<size_t>(y * kCols + x)], want)
            << "shift (" << shift.x << ", " << shift.y << ") at (" << x << ", " << y << ")";
      }
    }
  }
}

TEST(GatherBatchReference, ShiftsAreUniformWholePixelsWithinMaxShift) {
  constexpr uint32_t kSamples = 25000;
  std::vector<size_t> count_x(5), count_y(5);
  size_t same_axes = 0, changed = 0;
  for (uint32_t s = 0; s < kSamples; ++s) {
    const Shift t = augmentation_shift(77, 2, s, 2);
    ASSERT_GE(t.x, -2);
    ASSERT_LE(t.x, 2);
    ASSERT_GE(t.y, -2);
    ASSERT_LE(t.y, 2);
    const Shift again = augmentation_shift(77, 2, s, 2);
    ASSERT_TRUE(again.x == t.x && again.y == t.y);  // a pure function
    ++count_x[static_cast<size_t>(t.x + 2)];
    ++count_y[static_cast<size_t>(t.y + 2)];
    same_axes += t.x == t.y;
    const Shift next = augmentation_shift(77, 3, s, 2);
    changed += next.x != t.x || next.y != t.y;
  }
  for (size_t k = 0; k < 5; ++k) {  // 5,000 each; sd 63
    EXPECT_NEAR(static_cast<double>(count_x[k]), kSamples / 5.0, 300.0)
        << "x = " << static_cast<int>(k) - 2;
    EXPECT_NEAR(static_cast<double>(count_y[k]), kSamples / 5.0, 300.0)
        << "y = " << static_cast<int>(k) - 2;
  }
  EXPECT_NEAR(static_cast<double>(same_axes), kSamples / 5.0, 300.0);  // x and y independent
  EXPECT_GT(changed, kSamples * 3 / 4);  // a new epoch, new shifts (1/25 stay by chance)
  const Shift none = augmentation_shift(77, 2, 9, 0);
  EXPECT_TRUE(none.x == 0 && none.y == 0);
}

TEST(GatherBatchReference, PolynomialSinCosMatchTheLibrary) {
  for (int i = -1000; i <= 1000; ++i) {
    const float x = static_cast<float>(i) / 1000.0f * std::numbers::pi_v<float>;
    const SinCos sc = rotation_sin_cos(x);
    // Up to half a turn: float cancellation near pi; within the augmentation's small angles,
    // an ulp or so.
    const double tolerance = std::abs(x) <= 0.5f ? 1e-7 : 5e-7;
    EXPECT_NEAR(sc.sin, std::sin(double{x}), tolerance) << x;
    EXPECT_NEAR(sc.cos, std::cos(double{x}), tolerance) << x;
  }
  EXPECT_EQ(rotation_sin_cos(0.0f).sin, 0.0f);
  EXPECT_EQ(rotation_sin_cos(0.0f).cos, 1.0f);
}

}  // namespace
}  // namespace vkm::nn::reference
