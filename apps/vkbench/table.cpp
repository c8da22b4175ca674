// Aligned Markdown tables; widths count UTF-8 code points, not bytes.
#include "apps/vkbench/table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace vkbench {

namespace {

size_t width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string pad(const std::string& s, size_t w, bool right) {
  const std::string fill(w > width(s) ? w - width(s) : 0, ' ');
  return right ? fill + s : s + fill;
}

}  // namespace

Table::Table(std::vector<std::string> header) {
  for (std::string& h : header) {
    const bool right = !h.empty() && h[0] == '>';
    right_.push_back(right);
    header_.push_back(right ? h.substr(1) : h);
  }
}

void Table::add(std::vector<std::string> row) {
  row.resize(header_.size());
  rows_.push_back(std::move(row));
}

std::string Table::str() const {
  std::vector<size_t> w(header_.size(), 3);
  for (size_t c = 0; c < header_.size(); ++c) {
    w[c] = std::max(w[c], width(header_[c]));
    for (const auto& row : rows_) w[c] = std::max(w[c], width(row[c]));
  }
  std::string out = "|";
  for (size_t c = 0; c < header_.size(); ++c) out += " " + pad(header_[c], w[c], right_[c]) + " |";
  out += "\n|";
  for (size_t c = 0; c < header_.size(); ++c) {
    out +=
        right_[c] ? " " + std::string(w[c] - 1, '-') + ": |" : " " + std::string(w[c], '-') + " |";
  }
  out += "\n";
  for (const auto& row : rows_) {
    out += "|";
    for (size_t c = 0; c < header_.size(); ++c) out += " " + pad(row[c], w[c], right_[c]) + " |";
    out += "\n";
  }
  return out;
}

std::string number(double x) {
  const double a = std::abs(x);
  if (a >= 100.0 || a == 0.0) return fmt::format("{:.0f}", x);
  if (a >= 10.0) return fmt::format("{:.1f}", x);
  if (a >= 1.0) return fmt::format("{:.2f}", x);
  const int decimals = std::min(9, 2 - static_cast<int>(std::floor(std::log10(a))));
  return fmt::format("{:.{}f}", x, decimals);
}

std::string bytes_text(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

}  // namespace vkbench
