// Progress of a training run on the terminal: a bar redrawn in place (step, elapsed time and the
// epoch's time left, images/s, running loss and accuracy), fitted to the terminal's width (the
// fields on the right dropped first), when stderr is a terminal; otherwise nothing until the
// epoch's line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace vkmnist {

// The bar's line for `columns` columns (always shorter, so it never wraps).
std::string progress_line(const std::string& label, uint32_t step, uint32_t steps, double seconds,
                          uint32_t batch_size, double loss, double accuracy, int columns);

class ProgressBar {
 public:
  // enabled: false for --quiet, --json, or when stderr is not a terminal.
  explicit ProgressBar(bool enabled);
  void start_epoch(std::string label, uint32_t steps, uint32_t batch_size);
  void update(uint32_t step, double running_loss, double running_accuracy);
  void finish();  // clears the bar line

  static bool stderr_is_terminal();

 private:
  bool enabled_;
  std::string label_;
  uint32_t steps_ = 0;
  uint32_t batch_size_ = 0;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace vkmnist
