// libFuzzer target: the IDX reader (nn/data/idx.cpp) on any bytes, raw or gzip. Every input must
// end in images or labels whose sizes agree with their header, or in vkm::Error; anything else (a
// crash, a sanitizer report, another exception) is a finding. scripts/fuzz builds and runs it.
#include <cstdint>
#include <cstdlib>

#include "engine/error.hpp"
#include "nn/data/idx.hpp"
#include "tests/fuzz/fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& file = vkm::fuzz::write_input(data, size, ".idx");
  try {
    const vkm::nn::IdxImages images = vkm::nn::read_idx_images(file);
    if (images.pixels.size() != uint64_t{images.count} * images.rows * images.cols) std::abort();
  } catch (const vkm::Error&) {
  }
  try {
    const vkm::nn::IdxLabels labels = vkm::nn::read_idx_labels(file, 10);
    for (uint8_t label : labels.labels) {
      if (label >= 10) std::abort();
    }
  } catch (const vkm::Error&) {
  }
  return 0;
}
