// Safetensors checkpoints (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw
// little-endian data. Only float32 ("F32") tensors. Writing goes through a temporary file that is
// renamed into place, so a crash never leaves a half-written checkpoint; reading checks every
// field and throws vkm::Error naming the file and the fault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace vkm::nn {

struct NamedTensor {
  std::string name;            // as PyTorch names it: "conv1.weight", "norm3.running_var"
  std::vector<int64_t> shape;  // e.g. OIHW for a conv weight; [] is a scalar
  std::vector<float> data;     // row-major, product of shape elements
};

// Tensors are laid out in the order given; metadata goes to the header's "__metadata__".
void write_safetensors(const std::filesystem::path& file, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata);

struct SafetensorsFile {
  std::vector<NamedTensor> tensors;  // in the order of their data in the file
  std::map<std::string, std::string> metadata;
};

SafetensorsFile read_safetensors(const std::filesystem::path& file);

}  // namespace vkm::nn
