// The order of a device's benchmark, and what becomes "skipped: reason" when a device or a
// batch cannot do something (a size limit, memory) rather than an error.
#include "apps/vkbench/benchmark.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>

#include "apps/vkbench/bench_context.hpp"
#include "apps/vkbench/ceilings.hpp"
#include "apps/vkbench/end_to_end.hpp"
#include "apps/vkbench/kernel_table.hpp"
#include "apps/vkbench/provenance.hpp"
#include "engine/device.hpp"
#include "engine/error.hpp"

namespace vkbench {

namespace {

// A limit of the device or of the requested batch: reported as skipped. Anything else (a lost
// device, a driver error) stops the benchmark.
bool is_limit(const vkm::Error& e) {
  return e.result() == VK_SUCCESS || e.result() == VK_ERROR_OUT_OF_DEVICE_MEMORY ||
         e.result() == VK_ERROR_OUT_OF_HOST_MEMORY;
}

// A private folder for the pipeline cache files, removed at the end: vkbench never touches the
// user's own cache.
class TempDir {
 public:
  explicit TempDir(uint32_t device) {
    path_ = std::filesystem::temp_directory_path() / fmt::format("vkbench-{}-{}", getpid(), device);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

DeviceReport benchmark_device(const vkm::Instance& instance, const vkm::DeviceInfo& info,
                              const Settings& settings, const std::string& command, bool verbose) {
  DeviceReport report;
  report.tool = std::string("vkbench ") + VKMNIST_VERSION;
  report.date = now_iso8601();
  report.command = command;
  report.settings = settings;
  report.host = host_info();
  report.device = provenance(info, !vkm::env_flag("VKMNIST_NO_SUBGROUP_OPS"));
  if (!info.usable()) {
    report.skipped = "vkmnist cannot run on it: " + info.unusable_reason;
    return report;
  }
  progress_line(verbose, "device " + vkm::describe(info));
  vkm::Device device(instance, info);
  const TempDir temp(info.index);
  const auto cache_file = temp.path() / "pipelines.bin";

  std::unique_ptr<vkm::KernelCache> kernels;
  std::unique_ptr<nn::Model> bn_model;
  if (settings.wants("pipelines")) {
    try {
      PipelineRun run = measure_pipelines(device, settings, cache_file, verbose);
      report.pipelines = run.times;
      kernels = std::move(run.kernels);
      bn_model = std::move(run.model);
    } catch (const vkm::Error& e) {
      if (!is_limit(e)) throw;
      report.pipelines = PipelineTimes{
          .model = fmt::format("seed net, bn, batch {}", settings.batch), .skipped = e.what()};
    }
  }
  if (!kernels) kernels = std::make_unique<vkm::KernelCache>(device, cache_file);
  const BenchContext ctx{
      .device = device, .kernels = *kernels, .settings = settings, .verbose = verbose};

  if (settings.wants("ceilings")) report.ceilings = measure_ceilings(ctx);
  if (settings.wants("kernels")) {
    try {
      report.kernels = measure_kernels(ctx);
    } catch (const vkm::Error& e) {
      if (!is_limit(e)) throw;
      report.kernels = {KernelRow{.layer = "all", .kernel = "all", .skipped = e.what()}};
    }
  }
  // End to end: every norm's programs built first, then their timed runs interleaved. Each entry
  // is a run or, where the device cannot hold one, the report saying why (in the norms' order).
  std::vector<std::unique_ptr<EndToEndRun>> runs;
  std::vector<std::optional<EndToEnd>> skipped;
  for (const std::string& norm :
       settings.wants("e2e") ? settings.norms : std::vector<std::string>{}) {
    try {
      std::unique_ptr<nn::Model> model = norm == "bn" && bn_model ? std::move(bn_model) : nullptr;
      if (!model) {
        progress_line(verbose, fmt::format("building the {} model", norm));
        model = std::make_unique<nn::Model>(device, *kernels, net_config(settings, norm),
                                            settings.batch, nn::UpdateConfig{});
      }
      runs.push_back(std::make_unique<EndToEndRun>(ctx, std::move(model), norm));
      skipped.emplace_back();
    } catch (const vkm::Error& e) {
      if (!is_limit(e)) throw;
      runs.push_back(nullptr);
      skipped.push_back(EndToEnd{
          .norm = norm, .batch = settings.batch, .steps = settings.steps, .skipped = e.what()});
    }
  }
  if (!runs.empty()) {
    ctx.progress(
        fmt::format("end to end: {} training steps and {} eval batches x {} runs per "
                    "norm, the norms interleaved",
                    settings.steps, settings.steps, settings.e2e_repeats));
  }
  for (auto& run : runs) {
    if (run) run->warm_up();
  }
  for (uint32_t r = 0; r < std::max(settings.e2e_repeats, 1u); ++r) {
    for (auto& run : runs) {
      if (run) run->time_once();
    }
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    EndToEnd e = runs[i] ? runs[i]->finish() : *skipped[i];
    e.minimum_bytes_per_step = minimum_step_bytes(settings.batch);
    report.end_to_end.push_back(std::move(e));
    runs[i].reset();
  }
  return report;
}

}  // namespace vkbench
