// Atomic file writes and the metrics table.
#include "apps/vkmnist/run_folder.hpp"

#include "apps/vkmnist/interrupt.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "engine/atomic_file.hpp"
#include "engine/error.hpp"

namespace vkmnist {

void remove_stray_temporaries(const std::filesystem::path& folder) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (vkm::is_temporary_name(entry.path().filename().string())) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
}

void stop_point(std::string_view point, uint32_t epoch) {
  static const std::string target = [] {
    const char* env = std::getenv("VKMNIST_TEST_STOP_AT");
    return std::string(env != nullptr ? env : "");
  }();
  if (target.empty()) return;
  if (target == point || target == fmt::format("{}@{}", point, epoch)) std::_Exit(75);
}

std::filesystem::path next_file(const std::filesystem::path& file) {
  return file.string() + ".next";
}

namespace {

// Makes the folder's renames durable (the file contents were synced before each rename).
void sync_folder(const std::filesystem::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void replace(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::error_code ec;
  std::filesystem::rename(from, to, ec);
  if (ec) throw vkm::Error(fmt::format("cannot replace {}: {}", to.string(), ec.message()));
}

}  // namespace

void commit_checkpoint(const std::filesystem::path& folder,
                       const std::vector<std::filesystem::path>& files, uint32_t epoch) {
  sync_folder(folder);
  write_file_atomically(folder / kCommitMarker, fmt::format("epoch {}\n", epoch));
  sync_folder(folder);
  stop_point("committed", epoch);
  for (size_t i = 0; i < files.size(); ++i) {
    replace(next_file(files[i]), files[i]);
    stop_point(fmt::format("replaced{}", i + 1), epoch);
  }
  sync_folder(folder);
  std::error_code ec;
  std::filesystem::remove(folder / kCommitMarker, ec);
  sync_folder(folder);
}

void recover_checkpoint(const std::filesystem::path& folder,
                        const std::vector<std::filesystem::path>& files) {
  std::error_code ec;
  if (std::filesystem::exists(folder / kCommitMarker)) {
    for (const auto& f : files) {
      if (std::filesystem::exists(next_file(f))) replace(next_file(f), f);
    }
    sync_folder(folder);
    std::filesystem::remove(folder / kCommitMarker, ec);
  } else {
    for (const auto& f : files) std::filesystem::remove(next_file(f), ec);
  }
  sync_folder(folder);
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw vkm::Error(fmt::format("{} not found", file.string()));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

std::string metrics_line(const MetricsRow& r) {
  return fmt::format("{},{},{:.6f},{:.6f},{:.2f},{:.6g},{:.3f}", r.epoch, r.split, r.loss,
                     r.penalty, r.accuracy, r.lr, r.seconds);
}

// Fields of metrics.csv, each the whole field or an error (std::stod would read "5n3" as 5).
uint32_t epoch_field(const std::string& f) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  if (ec != std::errc() || end != f.data() + f.size() || v == 0 || v > UINT32_MAX) {
    throw std::invalid_argument("epoch");
  }
  return static_cast<uint32_t>(v);
}

double number_field(const std::string& f, double lo, double hi) {
  double v = 0.0;
  const auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  if (ec != std::errc() || end != f.data() + f.size() || !std::isfinite(v) || v < lo || v > hi) {
    throw std::invalid_argument("number");
  }
  return v;
}

// One line of metrics.csv; throws std::invalid_argument when it is not one.
MetricsRow parse_metrics_line(const std::string& line) {
  std::vector<std::string> f;
  std::istringstream fields(line);
  for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
  if (!line.empty() && line.back() == ',') f.emplace_back();
  if (f.size() != 7 || (f[1] != "train" && f[1] != "test")) throw std::invalid_argument("row");
  const double inf = std::numeric_limits<double>::infinity();
  MetricsRow r;
  r.epoch = epoch_field(f[0]);
  r.split = f[1];
  r.loss = number_field(f[2], 0.0, inf);
  r.penalty = number_field(f[3], 0.0, inf);
  r.accuracy = number_field(f[4], 0.0, 100.0);
  r.lr = number_field(f[5], 0.0, inf);
  r.seconds = number_field(f[6], 0.0, inf);
  return r;
}

}  // namespace

std::string metrics_csv(const std::vector<MetricsRow>& rows) {
  std::string out = "epoch,split,loss,penalty,accuracy,lr,seconds\n";
  for (const auto& r : rows) out += metrics_line(r) + "\n";
  return out;
}

MetricsRow as_written(const MetricsRow& row) {
  return parse_metrics_line(metrics_line(row));
}

std::vector<MetricsRow> parse_metrics_csv(const std::filesystem::path& file) {
  std::istringstream in(read_file(file));
  std::string line;
  std::getline(in, line);
  if (line != "epoch,split,loss,penalty,accuracy,lr,seconds") {
    throw vkm::Error(
        fmt::format("{}: not a vkmnist metrics file (header '{}')", file.string(), line));
  }
  std::vector<MetricsRow> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    MetricsRow r;
    try {
      r = parse_metrics_line(line);
    } catch (const std::invalid_argument&) {
      throw vkm::Error(fmt::format(
          "{}: malformed line '{}' (expected an epoch from 1, train or test, then five finite "
          "numbers, the accuracy 0 to 100)",
          file.string(), line));
    }
    rows.push_back(r);
  }
  return rows;
}

std::filesystem::path default_run_folder(std::string_view norm) {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  return std::filesystem::path("runs") /
         fmt::format("{}-{:%Y%m%d-%H%M%S}", norm, fmt::localtime(now));
}

namespace {
std::string& invocation_text() {
  static std::string text;
  return text;
}
}  // namespace

void set_invocation(int argc, char** argv) {
  std::string text;
  for (int i = 0; i < argc; ++i) text += (i ? " " : "") + shell_quoted(argv[i]);
  invocation_text() = text;
}

const std::string& invocation() {
  return invocation_text();
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(now));
}

}  // namespace vkmnist
