// The terminal progress bar.
#include "apps/vkmnist/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace vkmnist {

ProgressBar::ProgressBar(bool enabled) : enabled_(enabled && stderr_is_terminal()) {}

bool ProgressBar::stderr_is_terminal() { return ::isatty(STDERR_FILENO) == 1; }

void ProgressBar::start_epoch(std::string label, uint32_t steps, uint32_t batch_size) {
  label_ = std::move(label);
  steps_ = steps;
  batch_size_ = batch_size;
  start_ = std::chrono::steady_clock::now();
}

void ProgressBar::update(uint32_t step, double loss, double accuracy) {
  if (!enabled_ || steps_ == 0) return;
  constexpr int kWidth = 28;
  const int filled = static_cast<int>(kWidth * static_cast<double>(step) / steps_);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = seconds > 0 ? step * static_cast<double>(batch_size_) / seconds : 0.0;
  fmt::print(stderr, "\r{} [{}{}] {}/{} | {:.0f} img/s | loss {:.4f} | acc {:.2f}%\x1b[K", label_,
             std::string(filled, '#'), std::string(kWidth - filled, '.'), step, steps_, rate, loss, accuracy);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (!enabled_) return;
  fmt::print(stderr, "\r\x1b[K");
  std::fflush(stderr);
}

}  // namespace vkmnist
