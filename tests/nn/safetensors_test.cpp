// Safetensors checkpoints: round trip with metadata, the on-disk layout, corrupt files refused
// with a message naming the fault, and writes that never leave a half file behind.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "engine/error.hpp"
#include "nn/safetensors.hpp"
#include "tests/support/temp_folder.hpp"

namespace vkm::nn {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

std::vector<NamedTensor> sample_tensors() {
  std::vector<float> conv(8 * 1 * 3 * 3);
  for (size_t i = 0; i < conv.size(); ++i) conv[i] = 0.01f * static_cast<float>(i) - 0.3f;
  return {
      {"conv1.weight", {8, 1, 3, 3}, conv},
      {"norm1.weight", {8}, {1, 2, 3, 4, 5, 6, 7, 8}},
      {"norm1.running_var", {2}, {-0.0f, std::numeric_limits<float>::infinity()}},
      {"empty", {0, 4}, {}},
      {"scalar", {}, {42.5f}},
  };
}

class SafetensorsTest : public ::testing::Test {
 protected:
  static Bytes read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  fs::path write(const std::string& name, const Bytes& bytes) {
    const fs::path file = dir_ / name;
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return file;
  }
  // A file with the given header text (length field computed) and data bytes.
  fs::path craft(const std::string& name, const std::string& header, size_t data_bytes) {
    Bytes b;
    for (int i = 0; i < 8; ++i)
      b.push_back(static_cast<unsigned char>(uint64_t{header.size()} >> (8 * i)));
    b.insert(b.end(), header.begin(), header.end());
    b.resize(b.size() + data_bytes, 0);
    return write(name, b);
  }
  static void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
      f();
      ADD_FAILURE() << "no error; expected one mentioning '" << parts.front() << "'";
    } catch (const Error& e) {
      const std::string what = e.what();
      for (const auto& part : parts) {
        EXPECT_NE(what.find(part), std::string::npos)
            << "message '" << what << "' lacks '" << part << "'";
      }
    }
  }
  // Only `names` in the folder: no temporary file left behind.
  void expect_folder_holds(const std::vector<std::string>& names) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(dir_))
      found.push_back(entry.path().filename().string());
    std::sort(found.begin(), found.end());
    EXPECT_EQ(found, names);
  }

  test::TempFolder temp_{"safetensors"};
  const fs::path dir_ = temp_.path();
};

TEST_F(SafetensorsTest, RoundTripKeepsTensorsOrderAndMetadata) {
  const auto tensors = sample_tensors();
  const std::map<std::string, std::string> metadata = {
      {"norm", "bn"}, {"groups", "4"}, {"l1", "1e-05"}};
  const fs::path file = dir_ / "model.safetensors";
  write_safetensors(file, tensors, metadata);
  const SafetensorsFile back = read_safetensors(file);
  EXPECT_EQ(back.metadata, metadata);
  ASSERT_EQ(back.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(back.tensors[i].name, tensors[i].name);
    EXPECT_EQ(back.tensors[i].shape, tensors[i].shape);
    ASSERT_EQ(back.tensors[i].data.size(), tensors[i].data.size());
    const auto& got = back.tensors[i].data;  // bitwise (an empty tensor's data() may be null)
    EXPECT_TRUE(got.empty() ||
                std::memcmp(got.data(), tensors[i].data.data(), got.size() * sizeof(float)) == 0)
        << tensors[i].name;
  }
  expect_folder_holds({"model.safetensors"});
}

TEST_F(SafetensorsTest, LayoutIsTheSafetensorsFormat) {
  const fs::path file = dir_ / "m.safetensors";
  write_safetensors(file, {{"a", {2}, {1.0f, -2.0f}}}, {{"k", "v"}});
  const Bytes b = read(file);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{b[i]} << (8 * i);
  EXPECT_EQ(n % 8, 0u);  // data 8-byte aligned
  ASSERT_EQ(b.size(), 8 + n + 8);
  const std::string header(b.begin() + 8, b.begin() + 8 + static_cast<long>(n));
  EXPECT_EQ(
      header.rfind(
          R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 0),
      0u)
      << header;
  const Bytes data(b.end() - 8, b.end());
  EXPECT_EQ(data,
            (Bytes{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0}));  // 1.0f, -2.0f little-endian
}

TEST_F(SafetensorsTest, OverwritesAtomicallyAndRefusesBadTensorsWithoutTouchingTheFile) {
  const fs::path file = dir_ / "model.safetensors";
  write_safetensors(file, sample_tensors(), {});
  const Bytes before = read(file);
  expect_error(
      [&] {
        write_safetensors(file, {{"w", {2, 3}, {1, 2, 3}}}, {});
      },
      {file.string(), "'w' of shape [2, 3] cannot hold its 3 values"});
  expect_error(
      [&] {
        write_safetensors(file, {{"w", {1}, {1}}, {"w", {1}, {2}}}, {});
      },
      {"names must be unique"});
  EXPECT_EQ(read(file), before);
  write_safetensors(file, {{"w", {1}, {3}}}, {});
  EXPECT_EQ(read_safetensors(file).tensors.at(0).data, std::vector<float>{3});
  expect_folder_holds({"model.safetensors"});
}

TEST_F(SafetensorsTest, WriteIntoMissingFolderThrowsAndLeavesNothing) {
  const fs::path missing = dir_ / "no" / "such" / "folder";
  expect_error(
      [&] { write_safetensors(missing / "model.safetensors", sample_tensors(), {}); },
      {(missing / "model.safetensors").string(), "cannot write", "check the folder exists"});
  EXPECT_FALSE(fs::exists(dir_ / "no"));
  expect_folder_holds({});
}

TEST_F(SafetensorsTest, RefusesTruncatedFiles) {
  const fs::path file = dir_ / "m.safetensors";
  write_safetensors(file, sample_tensors(), {{"norm", "gn"}});
  const Bytes good = read(file);
  expect_error([&] { read_safetensors(write("cut-data", Bytes(good.begin(), good.end() - 4))); },
               {"cut-data", "outside the"});
  expect_error(
      [&] { read_safetensors(write("cut-header", Bytes(good.begin(), good.begin() + 40))); },
      {"cut-header", "runs past the end of the file"});
  expect_error([&] { read_safetensors(write("tiny", Bytes(good.begin(), good.begin() + 5))); },
               {"tiny", "shorter than the 8-byte header length"});
  expect_error([&] { read_safetensors(dir_ / "absent.safetensors"); },
               {"absent.safetensors", "not found"});
}

TEST_F(SafetensorsTest, RefusesBadHeaderLength) {
  Bytes b = read([&] {
    write_safetensors(dir_ / "m", {{"a", {1}, {1}}}, {});
    return dir_ / "m";
  }());
  b[7] = 0x40;  // a header length of 2^62
  expect_error([&] { read_safetensors(write("huge", b)); },
               {"huge", "header length 4611686018427387", "runs past"});
  b[7] = 0;
  ASSERT_EQ(b[1], 0);
  b[0] = 10;  // the JSON cut short
  expect_error([&] { read_safetensors(write("short", b)); }, {"short", "not valid JSON"});
}

TEST_F(SafetensorsTest, RefusesBadHeaders) {
  // A number JSON can write but not hold: named as a header fault, with the file's name.
  expect_error(
      [&] {
        read_safetensors(
            craft("overflow",
                  R"({"a":{"dtype":"F32","shape":[11111111111e111111],"data_offsets":[0,4]}})", 4));
      },
      {"overflow", "the header is not valid JSON", "number overflow"});
  expect_error(
      [&] {
        read_safetensors(
            craft("f16", R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4));
      },
      {"f16", "tensor 'a' has dtype F16; only F32 is supported"});
  expect_error(
      [&] {
        read_safetensors(craft("overlap",
                               R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                               12));
      },
      {"overlap",
       "tensor 'b' starts at data byte 4 but tensor 'a' ends at byte 8: overlapping data"});
  expect_error(
      [&] {
        read_safetensors(craft("gap",
                               R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                               12));
      },
      {"gap", "a gap in the data"});
  expect_error(
      [&] {
        read_safetensors(
            craft("trail", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8));
      },
      {"trail", "4 trailing data bytes"});
  expect_error(
      [&] {
        read_safetensors(
            craft("shape", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8));
      },
      {"shape", "tensor 'a': shape [3] does not match its 8 data bytes"});
  expect_error(
      [&] {
        read_safetensors(
            craft("neg", R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8));
      },
      {"neg", "not a list of non-negative integers"});
  expect_error([&] { read_safetensors(craft("meta", R"({"__metadata__":{"epochs":20}})", 0)); },
               {"meta", "metadata 'epochs' is not a string"});
  expect_error([&] { read_safetensors(craft("noff", R"({"a":{"dtype":"F32","shape":[1]}})", 4)); },
               {"noff", "no data_offsets"});
  expect_error([&] { read_safetensors(craft("array", R"([1, 2])", 0)); },
               {"array", "not a JSON object"});
  // Valid: metadata only, no tensors; padding spaces after the JSON.
  const auto empty = read_safetensors(craft("ok", R"({"__metadata__":{"a":"b"}}    )", 0));
  EXPECT_TRUE(empty.tensors.empty());
  EXPECT_EQ(empty.metadata.at("a"), "b");
}

}  // namespace
}  // namespace vkm::nn
