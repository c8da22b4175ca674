// End to end on the seed net: pipeline creation time (cold: an empty VkPipelineCache; warm: the
// cache file the cold build saved), and training and eval images/s for each norm — a Program of
// S whole training steps (forward, loss, backward, SGD update) on one fixed batch already on the
// device, timed by the wall clock from submit to completion, median of the repeats.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "apps/vkbench/bench_context.hpp"
#include "apps/vkbench/report.hpp"
#include "engine/kernel.hpp"
#include "nn/model.hpp"

namespace vkbench {

nn::NetConfig net_config(const Settings& settings, const std::string& norm);

// Builds the bn model in a fresh KernelCache on `cache_file` (cold), saves it, and — unless the
// settings are quick — builds it again from that file (warm). Returns the cache and model of the
// last build, for the rest of the benchmark to reuse.
struct PipelineRun {
  PipelineTimes times;
  std::unique_ptr<vkm::KernelCache> kernels;
  std::unique_ptr<nn::Model> model;
};
PipelineRun measure_pipelines(vkm::Device& device, const Settings& settings,
                              const std::filesystem::path& cache_file, bool verbose);

// Training and eval rates of `model` (built at the settings' batch) on random data.
EndToEnd measure_end_to_end(const BenchContext& ctx, nn::Model& model, const std::string& norm);

}  // namespace vkbench
