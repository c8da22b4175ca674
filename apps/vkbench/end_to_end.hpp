// End to end on the seed net: pipeline creation time (cold: an empty VkPipelineCache; warm: the
// cache file the cold build saved), and training and eval images/s for each norm — a Program of
// S whole training steps (forward, loss, backward, SGD update) on one fixed batch already on the
// device, timed by the wall clock from submit to completion, median of the repeats. The norms'
// repeats interleave (bn, ln, gn, bn, ln, gn, ...): on a shared CPU, whatever else the machine
// does in the first seconds (the driver's shader-cache writes, other load) falls on every norm
// alike rather than on the first one measured.
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

// One norm's end-to-end programs: built on `model` (at the settings' batch, random data), then
// timed one run at a time (time_once, interleaved with the other norms'), then finished: the
// medians, one training step profiled per dispatch, the loss checked finite.
class EndToEndRun {
 public:
  EndToEndRun(const BenchContext& ctx, std::unique_ptr<nn::Model> model, const std::string& norm);
  ~EndToEndRun();
  void warm_up();
  void time_once();  // one timed run of the training program and one of the eval program
  EndToEnd finish();

 private:
  struct State;
  const BenchContext& ctx_;
  std::unique_ptr<State> s_;
};

}  // namespace vkbench
