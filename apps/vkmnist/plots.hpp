// Figures of the study, drawn with PLplot's cairo driver into PNG files: line charts with axes,
// labels and a legend (the loss/accuracy curves), and annotated grids of digits (the
// misclassified images). Written to a temporary file and renamed.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vkmnist {

struct Curve {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
  std::vector<double> err;  // empty, or an error bar of y ± err at each point (linear y only)
};

struct Panel {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Curve> curves;
  bool log_y = false;  // logarithmic y axis (values that fall by orders of magnitude)
  bool log_x = false;  // base-2 logarithmic x axis: batch sizes 16, 32, 64, 128 evenly spaced
  // Curves that share their x values drawn a little apart (each the same small offset from its
  // neighbour), so that error bars at one x do not hide one another.
  bool dodge = false;
};

// Panels laid out in a grid of `columns`, each with its own axes, above one legend for all of
// them (the first panel's curves: every panel shows the same models). Every point is shown.
void plot_panels(const std::filesystem::path& file, const std::vector<Panel>& panels, int columns,
                 int width = 1400, int height = 1000);

struct DigitCell {
  std::vector<uint8_t> pixels;  // rows * cols bytes, 0 = background
  uint32_t rows = 28;
  uint32_t cols = 28;
  std::string caption;  // under the digit; '\n' starts a second line
};

// cells laid out `columns` x `rows`, with a title above.
void plot_digit_grid(const std::filesystem::path& file, const std::string& title,
                     const std::vector<DigitCell>& cells, int columns = 5, int rows = 2);

}  // namespace vkmnist
