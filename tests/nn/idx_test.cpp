// IDX reader: small valid and corrupt files (raw and gzip) written into a temporary folder, every
// fault reported with the file's name; and the real MNIST files when data/mnist/ holds them.
#include <gtest/gtest.h>

#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "engine/error.hpp"
#include "nn/data/idx.hpp"
#include "tests/support/source_dir.hpp"
#include "tests/support/temp_folder.hpp"

namespace vkm::nn {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

void put_u32(Bytes& b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
}

// An IDX3 image file: header then `pixels` (which may disagree with the header on purpose).
Bytes idx_images(uint32_t count, uint32_t rows, uint32_t cols, const Bytes& pixels,
                 uint32_t magic = 0x00000803) {
  Bytes b;
  put_u32(b, magic);
  put_u32(b, count);
  put_u32(b, rows);
  put_u32(b, cols);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

Bytes idx_labels(uint32_t count, const Bytes& labels, uint32_t magic = 0x00000801) {
  Bytes b;
  put_u32(b, magic);
  put_u32(b, count);
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

Bytes gzip(const Bytes& raw) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&z, static_cast<uLong>(raw.size())) + 64);
  z.next_in = const_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

Bytes pattern(size_t n, uint32_t modulo = 256) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((i * 7 + 3) % modulo);
  return b;
}

class IdxTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const Bytes& bytes) {
    const fs::path file = dir_ / name;
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return file;
  }

  // Runs f, expects a vkm::Error whose message holds every one of `parts`.
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

  test::TempFolder temp_{"idx"};
  const fs::path dir_ = temp_.path();
};

TEST_F(IdxTest, ReadsRawImagesAndLabels) {
  const Bytes pixels = pattern(3 * 28 * 28);
  const auto images = read_idx_images(write("i", idx_images(3, 28, 28, pixels)));
  EXPECT_EQ(images.count, 3u);
  EXPECT_EQ(images.rows, 28u);
  EXPECT_EQ(images.cols, 28u);
  EXPECT_EQ(images.pixels, pixels);
  const Bytes values = {0, 9, 4};
  const auto labels = read_idx_labels(write("l", idx_labels(3, values)));
  EXPECT_EQ(labels.count, 3u);
  EXPECT_EQ(labels.labels, values);
}

TEST_F(IdxTest, GzipReadsLikeRaw) {
  const Bytes pixels = pattern(5 * 28 * 28);
  const Bytes values = {1, 2, 3, 4, 5};
  const Bytes raw_images = idx_images(5, 28, 28, pixels);
  const auto images = read_idx_images(write("train-images-idx3-ubyte.gz", gzip(raw_images)));
  EXPECT_EQ(images.count, 5u);
  EXPECT_EQ(images.pixels, pixels);
  write("train-labels-idx1-ubyte.gz", gzip(idx_labels(5, values)));
  const Dataset data = load_mnist(dir_, true);  // both found through their .gz
  EXPECT_EQ(data.images.pixels, pixels);
  EXPECT_EQ(data.labels.labels, values);
  // Two concatenated gzip members are one file, as gunzip reads them.
  Bytes two = gzip(Bytes(raw_images.begin(), raw_images.begin() + 100));
  const Bytes rest = gzip(Bytes(raw_images.begin() + 100, raw_images.end()));
  two.insert(two.end(), rest.begin(), rest.end());
  EXPECT_EQ(read_idx_images(write("two.gz", two)).pixels, pixels);
}

TEST_F(IdxTest, ReportsAnyImageSizeButMnistNeeds28x28) {
  const auto images = read_idx_images(write("small", idx_images(2, 5, 7, pattern(70))));
  EXPECT_EQ(images.rows, 5u);
  EXPECT_EQ(images.cols, 7u);
  write("t10k-images-idx3-ubyte", idx_images(2, 5, 7, pattern(70)));
  write("t10k-labels-idx1-ubyte", idx_labels(2, {1, 2}));
  expect_error([&] { load_mnist(dir_, false); },
               {"t10k-images-idx3-ubyte", "images are 5x7; this net takes 28x28"});
}

TEST_F(IdxTest, BadMagic) {
  const fs::path labels_as_images = write("l", idx_labels(3, {1, 2, 3}));
  expect_error([&] { read_idx_images(labels_as_images); },
               {labels_as_images.string(),
                "not an IDX image file: magic number 0x00000801, expected 0x00000803"});
  const fs::path images_as_labels = write("i", idx_images(1, 2, 2, pattern(4)));
  expect_error([&] { read_idx_labels(images_as_labels); },
               {images_as_labels.string(), "magic number 0x00000803, expected 0x00000801"});
  const fs::path text = write("t.gz", gzip(Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'i', 'd', 'x', '!',
                                                 '!', '!', '!', '!', '!', '!'}));
  expect_error([&] { read_idx_images(text); }, {text.string(), "magic number 0x68656c6c"});
}

TEST_F(IdxTest, Truncated) {
  const fs::path labels = write("train-labels-idx1-ubyte", idx_labels(60, pattern(50, 10)));
  expect_error([&] { read_idx_labels(labels); },
               {labels.string() + ": truncated: header says 60 labels, file holds 50"});
  const fs::path images = write("i", idx_images(4, 28, 28, pattern(3 * 784 + 10)));
  expect_error([&] { read_idx_images(images); },
               {images.string(), "truncated: header says 4 images of 28x28, file holds 3"});
  // A header whose pixel count passes 2^64 (4 images of 2^31 x 2^31): a product that would wrap.
  const fs::path wraps = write("wraps", idx_images(4, 0x80000000u, 0x80000000u, {}));
  expect_error([&] { read_idx_images(wraps); },
               {wraps.string(), "truncated: header says 4 images of 2147483648x2147483648"});
  const fs::path header = write("h", Bytes{0, 0, 8, 3, 0, 0});
  expect_error([&] { read_idx_images(header); }, {header.string(), "shorter than the 16-byte"});
  // A gzip stream cut short (an interrupted download).
  const Bytes gz = gzip(idx_images(4, 28, 28, pattern(4 * 784)));
  const fs::path cut =
      write("cut.gz", Bytes(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)));
  expect_error([&] { read_idx_images(cut); }, {cut.string(), "truncated gzip stream"});
  // The decompressed file itself truncated.
  const fs::path short_gz = write("short.gz", gzip(idx_labels(10, pattern(9, 10))));
  expect_error([&] { read_idx_labels(short_gz); },
               {short_gz.string() + ": truncated: header says 10 labels, file holds 9"});
}

TEST_F(IdxTest, TrailingBytes) {
  const fs::path labels = write("l", idx_labels(3, {1, 2, 3, 4}));
  expect_error([&] { read_idx_labels(labels); },
               {labels.string(), "1 trailing bytes after the 3 labels the header declares"});
  const fs::path images = write("i", idx_images(2, 28, 28, pattern(2 * 784 + 5)));
  expect_error([&] { read_idx_images(images); },
               {images.string(), "5 trailing bytes after the 2 images"});
  Bytes gz = gzip(idx_labels(3, {1, 2, 3}));
  gz.push_back(0);
  gz.push_back(7);
  const fs::path junk = write("junk.gz", gz);
  expect_error([&] { read_idx_labels(junk); },
               {junk.string(), "2 trailing bytes after the gzip stream"});
}

TEST_F(IdxTest, LabelOutOfRange) {
  const fs::path labels = write("l", idx_labels(4, {0, 9, 10, 3}));
  expect_error([&] { read_idx_labels(labels); },
               {labels.string(), "label 10 at index 2 is not below 10 classes"});
  EXPECT_EQ(read_idx_labels(labels, 11).labels[2], 10);  // fine with 11 classes
}

TEST_F(IdxTest, CountsMustAgree) {
  write("train-images-idx3-ubyte", idx_images(3, 28, 28, pattern(3 * 784)));
  write("train-labels-idx1-ubyte", idx_labels(2, {1, 2}));
  expect_error([&] { load_mnist(dir_, true); }, {"train-images-idx3-ubyte holds 3 images but",
                                                 "train-labels-idx1-ubyte holds 2 labels"});
}

TEST_F(IdxTest, MissingFile) {
  // The library names the file; which option to change is the app's to say.
  expect_error([&] { read_idx_images(dir_ / "nothing-here"); },
               {(dir_ / "nothing-here").string() + ": not found"});
  expect_error([&] { load_mnist(dir_, true); },
               {(dir_ / "train-images-idx3-ubyte").string(), "(or .gz): not found"});
  EXPECT_THROW(load_mnist(dir_, true), MissingDataError);
  write("t10k-images-idx3-ubyte", idx_images(1, 28, 28, pattern(784)));
  expect_error([&] { load_mnist(dir_, false); }, {"t10k-labels-idx1-ubyte", "not found"});
  expect_error([&] { read_idx_labels(dir_); }, {dir_.string(), "is a directory"});
}

// The real data set, where scripts/fetch-mnist has put it: scripts/test fetches it before
// testing, so its absence is a failure, not a reason to pass.
TEST(IdxMnist, RealFilesLoad) {
  const fs::path dir = vkm::test::source_dir() / "data" / "mnist";
  for (const bool train : {true, false}) {
    const char* name = train ? "train-images-idx3-ubyte" : "t10k-images-idx3-ubyte";
    ASSERT_TRUE(fs::exists(dir / name) || fs::exists(dir / (std::string(name) + ".gz")))
        << "no " << name << " in " << dir << ": run scripts/fetch-mnist";
    const Dataset data = load_mnist(dir, train);
    EXPECT_EQ(data.images.count, train ? 60000u : 10000u);
    EXPECT_EQ(data.labels.count, data.images.count);
    EXPECT_EQ(data.images.rows, 28u);
    EXPECT_EQ(data.images.cols, 28u);
    EXPECT_EQ(data.labels.labels[0], train ? 5 : 7);  // the first digits of each split
  }
}

}  // namespace
}  // namespace vkm::nn
