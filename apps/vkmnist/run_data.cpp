// Data checksums in run.json, checked on resume.
#include "apps/vkmnist/run_data.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include "apps/vkmnist/run_folder.hpp"
#include "engine/error.hpp"

namespace vkmnist {

nlohmann::json data_checksums(const vkm::nn::Dataset& train, const vkm::nn::Dataset& test) {
  const auto crc = [](const vkm::nn::Dataset& d) {
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32_z(c, d.images.pixels.data(), d.images.pixels.size());
    c = crc32_z(c, d.labels.labels.data(), d.labels.labels.size());
    return fmt::format("{:08x}", static_cast<uint32_t>(c));
  };
  return {{"train", crc(train)}, {"test", crc(test)}};
}

void check_resumed_data(const std::filesystem::path& folder, nlohmann::json run,
                        const TrainOptions& o, const nlohmann::json& checksums) {
  const bool moved = o.data_given && run.contains("options") && run["options"].is_object() &&
                     run["options"].value("data", std::string()) != o.data;
  if (!run.contains("data_crc32")) {
    if (!moved) return;  // a run from before the checksums: its own folder is trusted as before
    throw vkm::Error(fmt::format(
        "--data {}: {}/run.json records no checksums of the run's data (written by an older "
        "vkmnist), so other files cannot be checked: put the data back at {}",
        o.data, folder.string(), run["options"].value("data", std::string("?"))));
  }
  if (run["data_crc32"] != checksums) {
    throw vkm::Error(fmt::format(
        "{}: these are not the images and labels the run in {} was trained on (their CRC-32 "
        "differs from run.json's){}",
        o.data, folder.string(),
        o.data_given ? ": give --data the run's own data, or start a new run"
                     : ": the files changed since; restore them, or start a new run"));
  }
  if (moved) {  // the same files elsewhere: the run now knows them there
    run["options"]["data"] = o.data;
    write_file_atomically(folder / "run.json", run.dump(2) + "\n");
  }
}

}  // namespace vkmnist
