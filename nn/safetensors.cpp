// Safetensors writing (engine/atomic_file: temporary file, fsync, rename) and strict reading.
#include "nn/safetensors.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <span>

#include "engine/atomic_file.hpp"
#include "engine/error.hpp"
#include "nn/json_error.hpp"

namespace vkm::nn {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMetadataKey = "__metadata__";

// float32 <-> little-endian bytes, whatever the host's byte order.
void floats_to_le(std::span<const float> values, std::vector<unsigned char>& out) {
  const size_t start = out.size();
  out.resize(start + values.size() * 4);
  if (values.empty()) return;  // memcpy from an empty span's null pointer is undefined
  std::memcpy(out.data() + start, values.data(), values.size() * 4);
  if constexpr (std::endian::native == std::endian::big) {
    for (size_t i = start; i < out.size(); i += 4) {
      std::swap(out[i], out[i + 3]);
      std::swap(out[i + 1], out[i + 2]);
    }
  }
}

std::vector<float> le_to_floats(const unsigned char* bytes, size_t count) {
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) {
    const unsigned char* b = bytes + 4 * i;
    const uint32_t word =
        uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    values[i] = std::bit_cast<float>(word);
  }
  return values;
}

// The number of elements a shape holds, or nothing if it overflows.
bool element_count(std::span<const int64_t> shape, uint64_t& count) {
  count = 1;
  for (const int64_t d : shape) {
    if (d < 0) return false;
    const auto dim = static_cast<uint64_t>(d);
    if (dim != 0 && count > UINT64_MAX / 4 / dim) return false;  // room for the byte count too
    count *= dim;
  }
  return true;
}

std::string shape_str(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

// The file's bytes in the order written; checks each tensor first.
std::vector<unsigned char> serialize(const fs::path& file, const std::vector<NamedTensor>& tensors,
                                     const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[kMetadataKey] = metadata;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const NamedTensor& t : tensors) {
    if (t.name.empty() || t.name == kMetadataKey || !names.insert(t.name).second) {
      throw Error(
          fmt::format("{}: cannot write tensor named '{}': names must be unique, non-empty and "
                      "not {}",
                      file.string(), t.name, kMetadataKey));
    }
    uint64_t count = 0;
    if (!element_count(t.shape, count) || count != t.data.size()) {
      throw Error(fmt::format("{}: tensor '{}' of shape {} cannot hold its {} values",
                              file.string(), t.name, shape_str(t.shape), t.data.size()));
    }
    header[t.name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + 4 * count}}};
    offset += 4 * count;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {  // e.g. a name or value that is not UTF-8
    throw Error(fmt::format("{}: cannot write the checkpoint header: {}", file.string(), e.what()));
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned

  std::vector<unsigned char> bytes;
  bytes.reserve(8 + text.size() + offset);
  for (int i = 0; i < 8; ++i)
    bytes.push_back(static_cast<unsigned char>(uint64_t{text.size()} >> (8 * i)));
  bytes.insert(bytes.end(), text.begin(), text.end());
  for (const NamedTensor& t : tensors) floats_to_le(t.data, bytes);
  return bytes;
}

}  // namespace

void write_safetensors(const fs::path& file, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::vector<unsigned char> bytes = serialize(file, tensors, metadata);
  write_file_atomically(file, std::as_bytes(std::span(bytes)));
}

SafetensorsFile read_safetensors(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    throw Error(fmt::format("{}: not found (or not a regular file)", file.string()));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw Error(fmt::format("{}: cannot be opened: {}", file.string(), std::strerror(errno)));
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                         std::istreambuf_iterator<char>());
  const auto fault = [&](const std::string& what) {
    return Error(fmt::format("{}: not a valid safetensors checkpoint: {}", file.string(), what));
  };
  if (bytes.size() < 8)
    throw fault(
        fmt::format("truncated: {} bytes, shorter than the 8-byte header length", bytes.size()));
  uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i) header_length |= uint64_t{bytes[i]} << (8 * i);
  if (header_length > bytes.size() - 8) {
    throw fault(fmt::format(
        "header length {} runs past the end of the file ({} bytes): a truncated checkpoint, or "
        "not a safetensors file at all",
        header_length, bytes.size()));
  }
  const unsigned char* header_begin = bytes.data() + 8;
  const unsigned char* data = header_begin + header_length;
  const uint64_t data_bytes = bytes.size() - 8 - header_length;

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(header_begin, data);
  } catch (const nlohmann::json::exception& e) {  // syntax, and numbers out of range
    throw fault(fmt::format("the header is not valid JSON ({})", json_error_text(e)));
  }
  if (!header.is_object()) throw fault("the header is not a JSON object");

  struct Entry {
    std::string name;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;
  };
  SafetensorsFile result;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      if (!value.is_object()) throw fault("__metadata__ is not a JSON object");
      for (const auto& [mkey, mvalue] : value.items()) {
        if (!mvalue.is_string()) throw fault(fmt::format("metadata '{}' is not a string", mkey));
        result.metadata[mkey] = mvalue.get<std::string>();
      }
      continue;
    }
    if (!value.is_object())
      throw fault(fmt::format("tensor '{}': its entry is not a JSON object", key));
    const auto dtype = value.find("dtype");
    if (dtype == value.end() || !dtype->is_string())
      throw fault(fmt::format("tensor '{}' has no dtype", key));
    if (*dtype != "F32") {
      throw fault(fmt::format("tensor '{}' has dtype {}; only F32 is supported", key,
                              dtype->get<std::string>()));
    }
    Entry entry{.name = key};
    const auto shape = value.find("shape");
    if (shape == value.end() || !shape->is_array())
      throw fault(fmt::format("tensor '{}' has no shape", key));
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t{INT64_MAX}) {
        throw fault(fmt::format("tensor '{}': shape {} is not a list of non-negative integers", key,
                                shape->dump()));
      }
      entry.shape.push_back(d.get<int64_t>());
    }
    const auto offsets = value.find("data_offsets");
    if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2 ||
        !(*offsets)[0].is_number_unsigned() || !(*offsets)[1].is_number_unsigned()) {
      throw fault(fmt::format("tensor '{}' has no data_offsets [begin, end]", key));
    }
    entry.begin = (*offsets)[0].get<uint64_t>();
    entry.end = (*offsets)[1].get<uint64_t>();
    if (entry.begin > entry.end || entry.end > data_bytes) {
      throw fault(fmt::format("tensor '{}': data_offsets [{}, {}] outside the {} data bytes", key,
                              entry.begin, entry.end, data_bytes));
    }
    uint64_t count = 0;
    if (!element_count(entry.shape, count) || count * 4 != entry.end - entry.begin) {
      throw fault(fmt::format("tensor '{}': shape {} does not match its {} data bytes", key,
                              shape_str(entry.shape), entry.end - entry.begin));
    }
    entries.push_back(std::move(entry));
  }

  // The tensors must tile the data section: no overlap, no gap, nothing after the last.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::pair(a.begin, a.end) < std::pair(b.begin, b.end);
  });
  uint64_t covered = 0;
  const std::string* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin != covered) {
      throw fault(fmt::format(
          "tensor '{}' starts at data byte {} but {} at byte {}: {}", e.name, e.begin,
          previous != nullptr ? "tensor '" + *previous + "' ends" : std::string("the data starts"),
          covered,
          e.begin < covered ? "overlapping data"
                            : "a gap in the data (a tensor removed from the header?)"));
    }
    covered = e.end;
    previous = &e.name;
  }
  if (covered != data_bytes) {
    throw fault(fmt::format("{} trailing data bytes after the last tensor", data_bytes - covered));
  }
  for (Entry& e : entries) {
    result.tensors.push_back({std::move(e.name), std::move(e.shape),
                              le_to_floats(data + e.begin, (e.end - e.begin) / 4)});
  }
  return result;
}

}  // namespace vkm::nn
