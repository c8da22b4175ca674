// Temporary file, fsync, rename.
#include "engine/atomic_file.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "engine/error.hpp"

namespace vkm {

std::filesystem::path temporary_for(const std::filesystem::path& file) {
  return file.string() + fmt::format(".tmp{}", static_cast<long>(::getpid()));
}

bool is_temporary_name(std::string_view name) {
  const size_t at = name.rfind(".tmp");
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view rest = name.substr(at + 4);
  if (!rest.empty() && rest.front() == '-') rest.remove_prefix(1);  // safetensors' older form
  return !rest.empty() && rest.find_first_not_of("0123456789") == std::string_view::npos;
}

void replace_with_temporary(const std::filesystem::path& temporary,
                            const std::filesystem::path& file) {
  std::error_code ec;
  std::filesystem::rename(temporary, file, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw Error(fmt::format("cannot replace {}: {}", file.string(), ec.message()));
  }
}

namespace {

// The temporary of `file`, open for writing; throws when it cannot be created.
std::FILE* open_temporary(const std::filesystem::path& file, const std::filesystem::path& tmp) {
  std::FILE* out = std::fopen(tmp.c_str(), "wb");
  if (out == nullptr) {
    throw Error(
        fmt::format("cannot write {}: check the folder exists and is writable", file.string()));
  }
  return out;
}

}  // namespace

void check_writable(const std::filesystem::path& file) {
  const std::filesystem::path tmp = temporary_for(file);
  std::fclose(open_temporary(file, tmp));
  std::error_code ignored;
  std::filesystem::remove(tmp, ignored);
}

void write_file_atomically(const std::filesystem::path& file, std::span<const std::byte> bytes) {
  const std::filesystem::path tmp = temporary_for(file);
  std::FILE* out = open_temporary(file, tmp);
  // Written, flushed and synced before the rename: after a crash the file is the old one or the
  // whole new one, never a renamed but empty one.
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size() &&
                  std::fflush(out) == 0 && ::fsync(::fileno(out)) == 0;
  if (std::fclose(out) != 0 || !ok) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw Error(fmt::format("writing {} failed (disk full?)", file.string()));
  }
  replace_with_temporary(tmp, file);
}

void write_file_atomically(const std::filesystem::path& file, std::string_view text) {
  write_file_atomically(file, std::as_bytes(std::span(text.data(), text.size())));
}

}  // namespace vkm
