// PLplot (pngcairo) drawing.
#include "apps/vkmnist/plots.hpp"

#include <fmt/format.h>
#include <plplot.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/atomic_file.hpp"
#include "engine/error.hpp"

namespace vkmnist {

namespace {

// Distinct, colour-blind-friendly line colours (Okabe-Ito), set into cmap0 from index 1.
constexpr int kPalette[][3] = {{0, 114, 178},   {213, 94, 0},  {0, 158, 115},
                               {204, 121, 167}, {230, 159, 0}, {86, 180, 233}};

// Curves of at most this many points get a marker at each (kMarker: PLplot's filled circle).
constexpr size_t kMarkedPoints = 25;
constexpr PLINT kMarker = 17;

// PLplot custom axis label (plslabelfunc): the value whose log10 the axis shows.
// Tick labels on axes drawn on a log scale: x in powers of two (its value is log2), y in powers of
// ten (its value is log10). `data` points to the Panel.
void log_axis_label(PLINT axis, PLFLT value, char* label, PLINT length, PLPointer data) {
  const auto* panel = static_cast<const Panel*>(data);
  if (axis == PL_X_AXIS && panel->log_x) {
    std::snprintf(label, static_cast<size_t>(length), "%.0f", std::exp2(value));
  } else {
    std::snprintf(label, static_cast<size_t>(length), "%.3g", std::pow(10.0, value));
  }
}

// Begins a PLplot stream drawing into `tmp`; the caller ends it with plend1() and renames.
void begin(const std::string& tmp, int width, int height) {
  plsdev("pngcairo");
  plsfnam(tmp.c_str());
  const std::string geometry = fmt::format("{}x{}", width, height);
  plsetopt("geometry", geometry.c_str());
  plscolbg(255, 255, 255);  // white background
  plscol0(0, 255, 255, 255);
  plscol0(15, 0, 0, 0);
  for (int i = 0; i < 6; ++i) plscol0(i + 1, kPalette[i][0], kPalette[i][1], kPalette[i][2]);
  plinit();
}

void finish(const std::string& tmp, const std::filesystem::path& file) {
  plend1();
  std::error_code ec;
  if (!std::filesystem::exists(tmp) || std::filesystem::file_size(tmp, ec) == 0) {
    std::filesystem::remove(tmp, ec);
    throw vkm::Error(
        fmt::format("PLplot did not write {} (is plplot-driver-cairo installed?)", file.string()));
  }
  vkm::replace_with_temporary(tmp, file);
}

std::string temporary(const std::filesystem::path& file) {
  return vkm::temporary_for(file).string();
}

}  // namespace

void plot_panels(const std::filesystem::path& file, const std::vector<Panel>& panels, int columns,
                 int width, int height) {
  const std::string tmp = temporary(file);
  begin(tmp, width, height);
  const int rows = static_cast<int>((panels.size() + columns - 1) / columns);
  plschr(0, 0.6);  // one page, no subpages: characters are sized against the whole page
  pladv(0);
  // The panels in a grid above one legend for all of them (the curves are the same models in
  // every panel), so no legend covers a curve. Page coordinates run 0..1 up from the bottom.
  constexpr double kLegendStrip = 0.07;
  const double cell_w = 1.0 / columns, cell_h = (1.0 - kLegendStrip) / rows;
  for (size_t index = 0; index < panels.size(); ++index) {
    const Panel& panel = panels[index];
    const int col = static_cast<int>(index) % columns, row = static_cast<int>(index) / columns;
    const double left = col * cell_w, top = 1.0 - row * cell_h;
    plvpor(left + 0.08, left + cell_w - 0.03, top - cell_h + 0.09, top - 0.05);
    // On a log axis PLplot draws log10 of the values; non-positive values cannot be shown.
    const auto shown = [&](double v) { return panel.log_y ? (v > 0 ? std::log10(v) : NAN) : v; };
    const auto shown_x = [&](double v) { return panel.log_x ? (v > 0 ? std::log2(v) : NAN) : v; };
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (const auto& c : panel.curves) {
      for (double v : c.x) {
        const double x = shown_x(v);
        if (std::isfinite(x)) x0 = std::min(x0, x), x1 = std::max(x1, x);
      }
      for (size_t i = 0; i < c.y.size(); ++i) {
        const double e = i < c.err.size() && !panel.log_y ? c.err[i] : 0.0;
        for (double v : {c.y[i] - e, c.y[i] + e}) {
          const double y = shown(v);
          if (std::isfinite(y)) y0 = std::min(y0, y), y1 = std::max(y1, y);
        }
      }
    }
    if (!std::isfinite(x0)) x0 = 0, x1 = 1;
    if (!std::isfinite(y0)) y0 = 0, y1 = 1;
    if (y1 == y0) y1 = y0 + 1;
    // Epochs: whole-number ticks while there are few; a single epoch centred in its panel; a
    // little room on each side so the markers at the ends show whole.
    const double x_tick = x1 - x0 <= 10 ? 1.0 : 0.0;
    // Dodged curves: curve i drawn at x + (i - (n - 1) / 2) * step, step 2 % of the x range.
    const double dodge_step =
        panel.dodge && panel.curves.size() > 1 ? 0.02 * (x1 == x0 ? 1.0 : x1 - x0) : 0.0;
    const double dodge_half = dodge_step * (static_cast<double>(panel.curves.size()) - 1) / 2;
    const double x_pad = (x1 == x0 ? 0.5 : 0.02 * (x1 - x0)) + 2 * dodge_half;
    const double pad = 0.05 * (y1 - y0);
    plcol0(15);
    plwind(x0 - x_pad, x1 + x_pad, y0 - pad, y1 + pad);
    // A log axis spanning less than a decade would show no labels at all (PLplot labels only
    // powers of ten): there the ticks fall on the log10 scale and are labelled with their values.
    const bool short_log = panel.log_y && y1 - y0 < 1.0;
    if (short_log || panel.log_x) {
      plslabelfunc(log_axis_label, const_cast<Panel*>(&panel));
    }
    plbox(panel.log_x ? "bcnstog" : "bcnstg", x_tick, x_tick > 0 ? 1 : 0,
          !panel.log_y ? "bcnstvg"
          : short_log  ? "bcnstvog"
                       : "bcnstlvg",
          0, 0);
    if (short_log || panel.log_x) plslabelfunc(nullptr, nullptr);
    pllab(panel.x_label.c_str(), panel.y_label.c_str(), panel.title.c_str());
    for (size_t i = 0; i < panel.curves.size(); ++i) {
      const auto& c = panel.curves[i];
      plcol0(static_cast<PLINT>(1 + i % 6));
      plwidth(2.0);
      std::vector<PLFLT> x(c.x.size()), y(c.y.size());
      std::transform(c.x.begin(), c.x.end(), x.begin(), shown_x);
      for (PLFLT& v : x) v += static_cast<double>(i) * dodge_step - dodge_half;
      std::transform(c.y.begin(), c.y.end(), y.begin(), shown);
      plline(static_cast<PLINT>(x.size()), x.data(), y.data());
      if (!c.err.empty() && !panel.log_y && c.err.size() == c.y.size()) {
        std::vector<PLFLT> low(y.size()), high(y.size());
        for (size_t k = 0; k < y.size(); ++k) low[k] = y[k] - c.err[k], high[k] = y[k] + c.err[k];
        plerry(static_cast<PLINT>(x.size()), x.data(), low.data(), high.data());
      }
      // A marker at each value when there are few: a one-epoch run's "curve" is a single point,
      // which a line alone would leave blank.
      if (c.x.size() <= kMarkedPoints) {
        plssym(0.0, 1.4);
        plpoin(static_cast<PLINT>(x.size()), x.data(), y.data(), kMarker);
      }
    }
    plwidth(1.0);
  }
  // The legend: one row below the grid, the curves of the first panel (every panel has them).
  if (!panels.empty() && !panels.front().curves.empty()) {
    const auto& curves = panels.front().curves;
    const auto n = static_cast<PLINT>(curves.size());
    std::vector<PLINT> opts(n, PL_LEGEND_LINE), colors(n), styles(n, 1), text_colors(n, 15);
    std::vector<PLFLT> line_widths(n, 2.0);
    std::vector<const char*> texts;
    for (PLINT i = 0; i < n; ++i) {
      colors[i] = 1 + i % 6;
      texts.push_back(curves[i].label.c_str());
    }
    plvpor(0.0, 1.0, 0.0, kLegendStrip);
    plwind(0.0, 1.0, 0.0, 1.0);
    plcol0(15);
    PLFLT legend_width = 0, legend_height = 0;
    pllegend(&legend_width, &legend_height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX,
             PL_POSITION_BOTTOM | PL_POSITION_INSIDE, 0.0, 0.15, 0.04, 0, 15, 1, 1, n, n,
             opts.data(), 0.8, 0.55, 1.5, 0.0, text_colors.data(), texts.data(), nullptr, nullptr,
             nullptr, nullptr, colors.data(), styles.data(), line_widths.data(), nullptr, nullptr,
             nullptr, nullptr);
  }
  finish(tmp, file);
}

void plot_digit_grid(const std::filesystem::path& file, const std::string& title,
                     const std::vector<DigitCell>& cells, int columns, int rows) {
  const std::string tmp = temporary(file);
  begin(tmp, 200 * columns, 230 * rows + 80);
  // Grey ramp for the digits: 0 -> white, 255 -> black (ink on paper).
  PLFLT intensity[2] = {0.0, 1.0}, r[2] = {1.0, 0.0}, g[2] = {1.0, 0.0}, b[2] = {1.0, 0.0};
  plscmap1l(1, 2, intensity, r, g, b, nullptr);
  pladv(0);
  plvpor(0.0, 1.0, 0.0, 1.0);
  plwind(0.0, 1.0, 0.0, 1.0);
  plcol0(15);
  plschr(0, 1.3);
  const double title_band = 70.0 / (230.0 * rows + 80.0);
  plptex(0.5, 1.0 - title_band / 2, 1.0, 0.0, 0.5, title.c_str());
  plschr(0, 1.0);
  const double cell_w = 1.0 / columns;
  const double cell_h = (1.0 - title_band) / rows;
  for (size_t i = 0; i < cells.size() && i < static_cast<size_t>(columns * rows); ++i) {
    const auto& cell = cells[i];
    const int col = static_cast<int>(i % columns), row = static_cast<int>(i / columns);
    const double left = col * cell_w + 0.1 * cell_w, right = (col + 1) * cell_w - 0.1 * cell_w;
    const double top = 1.0 - title_band - row * cell_h - 0.04 * cell_h;
    const double bottom = top - 0.72 * cell_h;
    plvpor(left, right, bottom, top);
    plwind(0.0, cell.cols, 0.0, cell.rows);
    std::vector<std::vector<PLFLT>> columns_data(cell.cols, std::vector<PLFLT>(cell.rows));
    std::vector<const PLFLT*> pointers(cell.cols);
    for (uint32_t x = 0; x < cell.cols; ++x) {
      for (uint32_t y = 0; y < cell.rows; ++y) {
        // PLplot's y grows upwards; image rows grow downwards.
        columns_data[x][y] = cell.pixels[size_t{cell.rows - 1 - y} * cell.cols + x];
      }
      pointers[x] = columns_data[x].data();
    }
    plimage(const_cast<PLFLT**>(reinterpret_cast<const PLFLT* const*>(pointers.data())),
            static_cast<PLINT>(cell.cols), static_cast<PLINT>(cell.rows), 0.0, cell.cols, 0.0,
            cell.rows, 0.0, 255.0, 0.0, cell.cols, 0.0, cell.rows);
    plcol0(15);
    plbox("bc", 0, 0, "bc", 0, 0);
    plschr(0, 0.9);
    double line = 1.5;
    for (size_t from = 0; from <= cell.caption.size(); line += 1.4) {
      const size_t end = std::min(cell.caption.find('\n', from), cell.caption.size());
      plmtex("b", line, 0.5, 0.5, cell.caption.substr(from, end - from).c_str());
      from = end + 1;
    }
  }
  finish(tmp, file);
}

}  // namespace vkmnist
