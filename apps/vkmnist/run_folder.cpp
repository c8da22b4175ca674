// Atomic file writes and the metrics table.
#include "apps/vkmnist/run_folder.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/error.hpp"

namespace vkmnist {

void write_file_atomically(const std::filesystem::path& file, std::string_view content) {
  const auto tmp = file.string() + fmt::format(".tmp{}", ::getpid());
  {
    std::FILE* out = std::fopen(tmp.c_str(), "wb");
    if (out == nullptr) {
      throw vkm::Error(
          fmt::format("cannot write {}: check the folder exists and is writable", file.string()));
    }
    // Written, flushed and synced before the rename: after a crash the file is the old one or
    // the whole new one, never a renamed but empty one.
    const bool ok = std::fwrite(content.data(), 1, content.size(), out) == content.size() &&
                    std::fflush(out) == 0 && ::fsync(::fileno(out)) == 0;
    if (std::fclose(out) != 0 || !ok) {
      std::filesystem::remove(tmp);
      throw vkm::Error(fmt::format("writing {} failed (disk full?)", file.string()));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw vkm::Error(fmt::format("cannot replace {}: {}", file.string(), ec.message()));
  }
}

void remove_stray_temporaries(const std::filesystem::path& folder) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    // "<file>.tmp<pid>" (write_file_atomically) and "<file>.tmp-<pid>" (nn/safetensors.cpp).
    const size_t at = name.rfind(".tmp");
    if (at == std::string::npos || at == 0) continue;
    std::string rest = name.substr(at + 4);
    if (!rest.empty() && rest.front() == '-') rest.erase(0, 1);
    if (rest.empty() || rest.find_first_not_of("0123456789") != std::string::npos) continue;
    std::filesystem::remove(entry.path(), ec);
  }
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw vkm::Error(fmt::format("{} not found", file.string()));
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string metrics_csv(const std::vector<MetricsRow>& rows) {
  std::string out = "epoch,split,loss,penalty,accuracy,lr,seconds\n";
  for (const auto& r : rows) {
    out += fmt::format("{},{},{:.6f},{:.6f},{:.2f},{:.6g},{:.3f}\n", r.epoch, r.split, r.loss,
                       r.penalty, r.accuracy, r.lr, r.seconds);
  }
  return out;
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
    std::istringstream fields(line);
    std::string f[7];
    for (auto& x : f) std::getline(fields, x, ',');
    try {
      r.epoch = static_cast<uint32_t>(std::stoul(f[0]));
      r.split = f[1];
      r.loss = std::stod(f[2]);
      r.penalty = std::stod(f[3]);
      r.accuracy = std::stod(f[4]);
      r.lr = std::stod(f[5]);
      r.seconds = std::stod(f[6]);
    } catch (const std::exception&) {
      throw vkm::Error(fmt::format("{}: malformed line '{}'", file.string(), line));
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

}  // namespace vkmnist
