// The terminal progress bar.
#include "apps/vkmnist/progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace vkmnist {

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled && stderr_is_terminal()) {}

bool ProgressBar::stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

void ProgressBar::start_epoch(std::string label, uint32_t steps, uint32_t batch_size) {
  label_ = std::move(label);
  steps_ = steps;
  batch_size_ = batch_size;
  start_ = std::chrono::steady_clock::now();
}

namespace {

// The terminal's width in columns (80 when it cannot be read).
int terminal_columns() {
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

std::string duration(double seconds) {
  const auto s = static_cast<long>(seconds + 0.5);
  return s < 60 ? fmt::format("{}s", s) : fmt::format("{}m{:02}s", s / 60, s % 60);
}

}  // namespace

std::string progress_line(const std::string& label, uint32_t step, uint32_t steps, double seconds,
                          uint32_t batch_size, double loss, double accuracy, int columns) {
  const double rate = seconds > 0 ? step * static_cast<double>(batch_size) / seconds : 0.0;
  const std::string time =
      step > 0 && step < steps
          ? fmt::format("{}, ~{} left", duration(seconds),
                        duration(seconds / step * static_cast<double>(steps - step)))
          : duration(seconds);
  // The fields after the bar, dropped from the right until the line fits the terminal.
  std::vector<std::string> fields{
      fmt::format("{}/{}", step, steps), time, fmt::format("{:.0f} img/s", rate),
      fmt::format("loss {:.4f}", loss), fmt::format("acc {:.2f}%", accuracy)};
  constexpr int kMinBar = 10, kMaxBar = 28;
  const auto text = [&](size_t count) {
    std::string t;
    for (size_t i = 0; i < count; ++i) t += " | " + fields[i];
    return t;
  };
  size_t count = fields.size();
  while (count > 1 &&
         static_cast<int>(label.size() + 3 + kMinBar + text(count).size()) >= columns) {
    --count;
  }
  const std::string tail = text(count);
  const int bar =
      std::clamp(columns - 1 - static_cast<int>(label.size() + 3 + tail.size()), kMinBar, kMaxBar);
  const int filled = static_cast<int>(bar * static_cast<double>(step) / std::max(steps, 1u));
  std::string line = fmt::format("{} [{}{}]{}", label, std::string(filled, '#'),
                                 std::string(bar - filled, '.'), tail);
  if (static_cast<int>(line.size()) >= columns) line.resize(std::max(columns - 1, 1));
  return line;
}

void ProgressBar::update(uint32_t step, double loss, double accuracy) {
  if (!enabled_ || steps_ == 0) return;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  fmt::print(stderr, "\r{}\x1b[K",
             progress_line(label_, step, steps_, seconds, batch_size_, loss, accuracy,
                           terminal_columns()));
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (!enabled_) return;
  fmt::print(stderr, "\r\x1b[K");
  std::fflush(stderr);
}

}  // namespace vkmnist
