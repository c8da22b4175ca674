// IDX files (the MNIST format: big-endian header, then unsigned bytes), raw or gzip-compressed,
// read with strict checks: magic number, dimensions, exact file length, label range, and image
// and label counts that agree. Every fault throws vkm::Error naming the file and the fault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "engine/error.hpp"

namespace vkm::nn {

struct IdxImages {
  uint32_t count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // [count, rows, cols]
};

struct IdxLabels {
  uint32_t count = 0;
  std::vector<uint8_t> labels;  // [count], each < classes
};

// An IDX3 file of unsigned bytes (magic 0x00000803), any rows x cols.
IdxImages read_idx_images(const std::filesystem::path& file);
// An IDX1 file of unsigned bytes (magic 0x00000801); every label must be below `classes`.
IdxLabels read_idx_labels(const std::filesystem::path& file, uint32_t classes = 10);

struct Dataset {
  IdxImages images;
  IdxLabels labels;
};

// A data file that is not there. The message names the file only: which option or folder to
// fix is the caller's to say.
class MissingDataError : public Error {
 public:
  using Error::Error;
};

// dir holds train-images-idx3-ubyte / train-labels-idx1-ubyte / t10k-images-idx3-ubyte /
// t10k-labels-idx1-ubyte, each optionally with .gz (the raw file wins when both exist).
// Checks counts agree and images are 28x28. A missing file throws MissingDataError.
Dataset load_mnist(const std::filesystem::path& dir, bool train);

}  // namespace vkm::nn
