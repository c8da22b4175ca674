// IDX reading: the whole file into memory (gunzipped through zlib when it starts with 1f 8b),
// then the header checked against the bytes that follow it.
#include "nn/data/idx.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <string>

#include "engine/error.hpp"

namespace vkm::nn {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr size_t kMaxBytes = size_t{1} << 30;  // far above any 28x28 data set

uint32_t big_endian_u32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// The decompressed contents of a gzip file; concatenated gzip members are read in turn.
std::vector<uint8_t> gunzip(const fs::path& file, std::span<const uint8_t> gz) {
  if (gz.size() > UINT32_MAX)
    throw Error(fmt::format("{}: too large for an IDX file", file.string()));
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) {  // 15-bit window, gzip wrapper
    throw Error(fmt::format("{}: zlib could not start decompressing", file.string()));
  }
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end{&z};
  z.next_in = const_cast<Bytef*>(gz.data());
  z.avail_in = static_cast<uInt>(gz.size());
  std::vector<uint8_t> out;
  std::array<uint8_t, 1 << 16> chunk;
  for (;;) {
    z.next_out = chunk.data();
    z.avail_out = static_cast<uInt>(chunk.size());
    const int result = inflate(&z, Z_NO_FLUSH);
    out.insert(out.end(), chunk.data(), z.next_out);
    if (out.size() > kMaxBytes) {
      throw Error(
          fmt::format("{}: decompresses to more than 1 GiB; not an IDX data set", file.string()));
    }
    if (result == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      if (z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b) {
        inflateReset(&z);  // another gzip member follows
        continue;
      }
      throw Error(
          fmt::format("{}: {} trailing bytes after the gzip stream", file.string(), z.avail_in));
    }
    if (result == Z_BUF_ERROR && z.avail_in == 0) {
      throw Error(
          fmt::format("{}: truncated gzip stream (the download may be incomplete)", file.string()));
    }
    if (result != Z_OK) {
      throw Error(fmt::format("{}: corrupt gzip data: {}", file.string(),
                              z.msg != nullptr ? z.msg : zError(result)));
    }
  }
  return out;
}

// The file's bytes, gunzipped when it starts with the gzip magic 1f 8b.
std::vector<uint8_t> read_bytes(const fs::path& file) {
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (!fs::exists(status)) throw MissingDataError(fmt::format("{}: not found", file.string()));
  if (fs::is_directory(status)) {
    throw Error(fmt::format("{}: is a directory, not an IDX file", file.string()));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw Error(fmt::format("{}: cannot be opened: {}", file.string(), std::strerror(errno)));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad())
    throw Error(fmt::format("{}: read failed: {}", file.string(), std::strerror(errno)));
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return gunzip(file, bytes);
  return bytes;
}

void check_magic(const fs::path& file, uint32_t magic, uint32_t expected, const char* what) {
  if (magic == expected) return;
  throw Error(fmt::format("{}: not an IDX {} file: magic number 0x{:08x}, expected 0x{:08x}",
                          file.string(), what, magic, expected));
}

}  // namespace

IdxImages read_idx_images(const fs::path& file) {
  const std::vector<uint8_t> bytes = read_bytes(file);
  constexpr size_t kHeader = 16;
  if (bytes.size() >= 4) check_magic(file, big_endian_u32(&bytes[0]), kImagesMagic, "image");
  if (bytes.size() < kHeader) {
    throw Error(fmt::format("{}: truncated: {} bytes, shorter than the 16-byte IDX image header",
                            file.string(), bytes.size()));
  }
  IdxImages images;
  images.count = big_endian_u32(&bytes[4]);
  images.rows = big_endian_u32(&bytes[8]);
  images.cols = big_endian_u32(&bytes[12]);
  if (images.rows == 0 || images.cols == 0) {
    throw Error(fmt::format("{}: header declares empty images of {}x{}", file.string(), images.rows,
                            images.cols));
  }
  const uint64_t image_bytes = uint64_t{images.rows} * images.cols;  // < 2^64: two 32-bit factors
  const uint64_t held = bytes.size() - kHeader;
  // count * image_bytes can pass 2^64; a header that declares more than any file holds is
  // truncated whatever the file, so say so before multiplying.
  if (images.count > 0 && image_bytes > UINT64_MAX / images.count) {
    throw Error(fmt::format(
        "{}: truncated: header says {} images of {}x{}, more than 2^64 pixel bytes; file holds {}",
        file.string(), images.count, images.rows, images.cols, held));
  }
  const uint64_t expected = images.count * image_bytes;
  if (held < expected) {
    throw Error(fmt::format(
        "{}: truncated: header says {} images of {}x{}, file holds {} ({} of {} "
        "pixel bytes)",
        file.string(), images.count, images.rows, images.cols, held / image_bytes, held, expected));
  }
  if (held > expected) {
    throw Error(
        fmt::format("{}: {} trailing bytes after the {} images of {}x{} the header declares",
                    file.string(), held - expected, images.count, images.rows, images.cols));
  }
  images.pixels.assign(bytes.begin() + kHeader, bytes.end());
  return images;
}

IdxLabels read_idx_labels(const fs::path& file, uint32_t classes) {
  if (classes == 0 || classes > 256) {
    throw Error(fmt::format("{}: {} classes asked for; byte labels allow 1 to 256", file.string(),
                            classes));
  }
  const std::vector<uint8_t> bytes = read_bytes(file);
  constexpr size_t kHeader = 8;
  if (bytes.size() >= 4) check_magic(file, big_endian_u32(&bytes[0]), kLabelsMagic, "label");
  if (bytes.size() < kHeader) {
    throw Error(fmt::format("{}: truncated: {} bytes, shorter than the 8-byte IDX label header",
                            file.string(), bytes.size()));
  }
  IdxLabels labels;
  labels.count = big_endian_u32(&bytes[4]);
  const uint64_t held = bytes.size() - kHeader;
  if (held < labels.count) {
    throw Error(fmt::format("{}: truncated: header says {} labels, file holds {}", file.string(),
                            labels.count, held));
  }
  if (held > labels.count) {
    throw Error(fmt::format("{}: {} trailing bytes after the {} labels the header declares",
                            file.string(), held - labels.count, labels.count));
  }
  labels.labels.assign(bytes.begin() + kHeader, bytes.end());
  for (size_t i = 0; i < labels.labels.size(); ++i) {
    if (labels.labels[i] >= classes) {
      throw Error(fmt::format("{}: label {} at index {} is not below {} classes", file.string(),
                              labels.labels[i], i, classes));
    }
  }
  return labels;
}

Dataset load_mnist(const fs::path& dir, bool train) {
  // The raw file if present, else its .gz.
  const auto pick = [&](const std::string& name) {
    std::error_code ec;
    const fs::path raw = dir / name;
    if (fs::exists(raw, ec)) return raw;
    fs::path gz = dir / (name + ".gz");
    if (fs::exists(gz, ec)) return gz;
    throw MissingDataError(fmt::format("{} (or .gz): not found", raw.string()));
  };
  const std::string prefix = train ? "train" : "t10k";
  const fs::path images_file = pick(prefix + "-images-idx3-ubyte");
  const fs::path labels_file = pick(prefix + "-labels-idx1-ubyte");
  Dataset data{read_idx_images(images_file), read_idx_labels(labels_file, 10)};
  if (data.images.rows != 28 || data.images.cols != 28) {
    throw Error(fmt::format("{}: images are {}x{}; this net takes 28x28", images_file.string(),
                            data.images.rows, data.images.cols));
  }
  if (data.images.count == 0) throw Error(fmt::format("{}: holds no images", images_file.string()));
  if (data.images.count != data.labels.count) {
    throw Error(fmt::format(
        "{} holds {} images but {} holds {} labels: the files do not belong "
        "together",
        images_file.string(), data.images.count, labels_file.string(), data.labels.count));
  }
  return data;
}

}  // namespace vkm::nn
