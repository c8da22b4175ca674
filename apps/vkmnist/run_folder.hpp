// The run folder's plain files: atomic writes (engine/atomic_file.hpp: temporary file + rename, so
// an interrupted run never leaves half a file) and metrics.csv (epoch, split, loss, penalty,
// accuracy, lr, seconds).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/atomic_file.hpp"

namespace vkmnist {

using vkm::write_file_atomically;  // engine/atomic_file.hpp
// Removes what an interrupted run's writes left behind in `folder` (vkm::is_temporary_name). The
// run in a folder is its only writer, so at its start none is live.
void remove_stray_temporaries(const std::filesystem::path& folder);
std::string read_file(const std::filesystem::path& file);

// The checkpoint pair (model.safetensors, optimizer.safetensors) changes as one: the new files
// are written beside the old as "<file>.next" (each atomically), then the marker
// "checkpoint.commit" is written — the commit point — then both are renamed over the old and the
// marker removed. recover_checkpoint() finishes a committed change (roll forward) or drops an
// uncommitted one (roll back), so at every instant the folder holds one consistent pair, or none.
constexpr const char* kCommitMarker = "checkpoint.commit";
std::filesystem::path next_file(const std::filesystem::path& file);  // "<file>.next"
// After both next_file()s are written: commit, then replace the pair.
void commit_checkpoint(const std::filesystem::path& folder,
                       const std::vector<std::filesystem::path>& files, uint32_t epoch);
void recover_checkpoint(const std::filesystem::path& folder,
                        const std::vector<std::filesystem::path>& files);

// Test hook: where VKMNIST_TEST_STOP_AT names this write point ("<point>" or "<point>@<epoch>"),
// the process ends at once (exit status 75, no clean-up), as a kill or power cut would there.
// The crash-consistency test stops a run at every point and resumes it.
void stop_point(std::string_view point, uint32_t epoch);

struct MetricsRow {
  uint32_t epoch = 0;  // 1-based
  std::string split;   // "train" or "test"
  double loss = 0.0;   // mean data loss (NLL) per image
  double penalty = 0.0;
  double accuracy = 0.0;  // percent
  double lr = 0.0;        // learning rate at the epoch's last step
  double seconds = 0.0;
};

std::string metrics_csv(const std::vector<MetricsRow>& rows);
// The row as metrics.csv holds it (accuracy to 0.01, loss to 1e-6, ...): what --resume reads
// back, so a resumed run decides (best epoch, results) from the same numbers as an uninterrupted
// one. A row that metrics.csv could not hold (a non-finite loss) throws std::invalid_argument.
MetricsRow as_written(const MetricsRow& row);
// Parses a metrics.csv written by metrics_csv (for --resume); throws vkm::Error when malformed.
std::vector<MetricsRow> parse_metrics_csv(const std::filesystem::path& file);

// "runs/bn-20261121-224501"
std::filesystem::path default_run_folder(std::string_view norm);

// The command line this process was started with, each argument shell-quoted (main sets it;
// run.json records it), and the current UTC time as "2026-11-30T14:52:01Z".
void set_invocation(int argc, char** argv);
const std::string& invocation();
std::string utc_now();

}  // namespace vkmnist
