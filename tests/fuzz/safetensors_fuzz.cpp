// libFuzzer target: the safetensors reader (nn/safetensors.cpp) on any bytes, and the round trip
// of whatever it accepts: written back by write_safetensors and read again, the same tensors
// (names, shapes, every value's bits) and metadata. Anything but vkm::Error from the first read
// (a crash, a sanitizer report, another exception such as one of nlohmann's) or a round trip that
// changes something is a finding. scripts/fuzz builds and runs it.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "engine/error.hpp"
#include "nn/safetensors.hpp"
#include "tests/fuzz/fuzz_file.hpp"

namespace {

bool same(const vkm::nn::SafetensorsFile& a, const vkm::nn::SafetensorsFile& b) {
  if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const auto& x = a.tensors[i];
    const auto& y = b.tensors[i];
    if (x.name != y.name || x.shape != y.shape || x.data.size() != y.data.size()) return false;
    if (!x.data.empty() && std::memcmp(x.data.data(), y.data.data(), x.data.size() * 4) != 0) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& file = vkm::fuzz::write_input(data, size, ".safetensors");
  vkm::nn::SafetensorsFile read;
  try {
    read = vkm::nn::read_safetensors(file);
  } catch (const vkm::Error&) {
    return 0;
  }
  const std::filesystem::path again = file.string() + ".again";
  vkm::nn::write_safetensors(again, read.tensors, read.metadata);
  const vkm::nn::SafetensorsFile back = vkm::nn::read_safetensors(again);
  if (!same(read, back)) std::abort();
  return 0;
}
