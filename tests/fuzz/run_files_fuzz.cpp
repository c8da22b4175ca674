// libFuzzer target: the parsers of a run folder's own files, which --resume, compare and sweep
// read back: run.json's options (from_json, then to_config, the checks a command line gets) and
// metrics.csv (parse_metrics_csv). The first byte picks the file; the rest is its content. Every
// input must end in options or rows (each of an epoch from 1), or in vkm::Error; anything else is
// a finding. scripts/fuzz builds and runs it.
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "apps/vkmnist/run_folder.hpp"
#include "apps/vkmnist/train_options.hpp"
#include "engine/error.hpp"
#include "tests/fuzz/fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t* text = data + 1;
  const size_t length = size - 1;
  if (data[0] % 2 == 0) {
    const nlohmann::json j = nlohmann::json::parse(text, text + length, nullptr, false);
    if (j.is_discarded()) return 0;
    try {
      (void)vkmnist::to_config(vkmnist::from_json(j));
    } catch (const vkm::Error&) {
    }
    return 0;
  }
  const auto& file = vkm::fuzz::write_input(text, length, ".csv");
  try {
    for (const auto& row : vkmnist::parse_metrics_csv(file)) {
      // Epochs count from 1; every figure is a finite number, an accuracy a percentage.
      if (row.epoch == 0 || (row.split != "train" && row.split != "test")) std::abort();
      for (double v : {row.loss, row.penalty, row.lr, row.seconds}) {
        if (!std::isfinite(v) || v < 0) std::abort();
      }
      if (!(row.accuracy >= 0 && row.accuracy <= 100)) std::abort();
    }
  } catch (const vkm::Error&) {
  }
  return 0;
}
