// Pipeline creation times and the end-to-end training and eval programs.
#include "apps/vkbench/end_to_end.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "apps/vkbench/kernel_case.hpp"
#include "apps/vkbench/timing.hpp"
#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/clock.hpp"

namespace vkbench {

namespace {

double seconds(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

nn::NetConfig net_config(const Settings& settings, const std::string& norm) {
  return {.norm = nn::parse_norm(norm), .groups = settings.groups};
}

PipelineRun measure_pipelines(vkm::Device& device, const Settings& settings,
                              const std::filesystem::path& cache_file, bool verbose) {
  const nn::NetConfig config = net_config(settings, "bn");
  PipelineRun run;
  run.times.model = fmt::format("seed net, bn, batch {}", settings.batch);
  std::filesystem::remove(cache_file);

  progress_line(verbose, "pipelines of the bn model, cold (empty pipeline cache)");
  run.kernels = std::make_unique<vkm::KernelCache>(device, cache_file);
  const double cold = seconds([&] {
    run.model = std::make_unique<nn::Model>(device, *run.kernels, config, settings.batch,
                                            nn::UpdateConfig{});
  });
  run.times.kernels = run.kernels->size();
  run.kernels->save();
  std::error_code ec;
  const auto cache_bytes = std::filesystem::file_size(cache_file, ec);
  double warm = 0.0;
  if (settings.quick) {
    run.times.warm_skipped = "--quick";
  } else {
    progress_line(verbose, fmt::format("pipelines of the bn model, warm (a {} byte pipeline cache)",
                                       ec ? 0 : cache_bytes));
    run.model.reset();
    run.kernels.reset();
    run.kernels = std::make_unique<vkm::KernelCache>(device, cache_file);
    warm = seconds([&] {
      run.model = std::make_unique<nn::Model>(device, *run.kernels, config, settings.batch,
                                              nn::UpdateConfig{});
    });
  }
  // The same build with every pipeline already made: what the model's buffers and uploads cost.
  const double rest = seconds(
      [&] { nn::Model again(device, *run.kernels, config, settings.batch, nn::UpdateConfig{}); });
  run.times.cold_seconds = cold;
  run.times.warm_seconds = warm;
  run.times.note = fmt::format(
      "building the model: its {} pipelines, buffers and initial uploads ({:.3f} s of it when "
      "every pipeline is already made); the saved pipeline cache held {} bytes{}",
      run.times.kernels, rest, ec ? 0 : cache_bytes,
      ec || cache_bytes < 64 ? " (the driver keeps nothing in it: warm cannot beat cold)" : "");
  return run;
}

// Every dispatch's bound buffers, each read or written once.
double compulsory_bytes(const vkm::Graph& graph) {
  double bytes = 0.0;
  for (const vkm::Node& node : graph.nodes()) {
    if (node.kind != vkm::Node::Kind::kDispatch) continue;
    for (const vkm::Binding& b : node.bindings) bytes += double(b.buffer->size());
  }
  return bytes;
}

// One training step with a timestamp around each dispatch (each then runs alone): the median
// per dispatch over e2e_repeats runs, summed per kernel.
void profile_step(const BenchContext& ctx, nn::Model& model, const vkm::Buffer& clock,
                  const vkm::Buffer& lr, const vkm::Buffer& stats, EndToEnd& e) {
  vkm::Graph graph;
  model.record_train_step(graph, clock, lr, stats, 0, ctx.settings.batch);
  vkm::Program program(ctx.device, graph, vkm::RecordOptions{.profile = true});
  program.run();  // warm-up
  std::vector<std::vector<double>> runs;
  std::vector<std::string> kernels;  // each node's label up to its first space: the kernel
  for (uint32_t r = 0; r < std::max(ctx.settings.e2e_repeats, 1u); ++r) {
    program.run();
    const auto timings = program.timings();
    runs.resize(timings.size());
    kernels.resize(timings.size());
    for (size_t i = 0; i < timings.size(); ++i) {
      runs[i].push_back(timings[i].ms);
      kernels[i] = timings[i].label.substr(0, timings[i].label.find(' '));
    }
  }
  for (size_t i = 0; i < runs.size(); ++i) {
    const double median = summarize(runs[i]).median_ms;
    auto it = std::find_if(e.step_kernels.begin(), e.step_kernels.end(),
                           [&](const EndToEnd::StepKernel& k) { return k.kernel == kernels[i]; });
    if (it == e.step_kernels.end()) {
      e.step_kernels.push_back({kernels[i], 0, 0.0});
      it = e.step_kernels.end() - 1;
    }
    ++it->dispatches;
    it->ms += median;
    e.step_kernel_ms += median;
  }
  for (const vkm::Node& node : graph.nodes()) {  // grouped as the timings are, by label
    const std::string kernel = node.label.substr(0, node.label.find(' '));
    auto it = std::find_if(e.step_kernels.begin(), e.step_kernels.end(),
                           [&](const EndToEnd::StepKernel& k) { return k.kernel == kernel; });
    if (it == e.step_kernels.end()) continue;
    for (const vkm::Binding& b : node.bindings) it->bytes += double(b.buffer->size());
  }
}

EndToEnd measure_end_to_end(const BenchContext& ctx, nn::Model& model, const std::string& norm) {
  vkm::Device& device = ctx.device;
  const Settings& s = ctx.settings;
  EndToEnd e{.norm = norm, .batch = s.batch, .steps = s.steps};
  model.initialize(1);
  // Inputs like normalized MNIST (background -0.42, strokes up to 2.8), random labels.
  model.input().upload(
      random_floats(size_t{s.batch} * nn::kImageSize * nn::kImageSize, -0.42f, 2.8f, 71));
  const auto labels = random_labels(s.batch, nn::kClasses, 72);
  device.upload(model.labels(), std::as_bytes(std::span(labels)));

  const vkm::Buffer clock = upload_buffer(
      device, std::vector<nn::ClockState>{{.epoch = 0, .steps_per_epoch = s.steps, .seed = 1}},
      "clock");
  const vkm::Buffer lr = upload_buffer(device, std::vector<float>(s.steps, 0.01f), "lr schedule");
  const vkm::Buffer train_stats = device.buffer(size_t{s.steps} * 2 * sizeof(float), "train stats");
  const vkm::Buffer eval_stats = device.buffer(size_t{s.steps} * 2 * sizeof(float), "eval stats");
  const vkm::Buffer predictions =
      device.buffer(size_t{s.steps} * s.batch * sizeof(uint32_t), "predictions");

  vkm::Graph train, eval;
  for (uint32_t step = 0; step < s.steps; ++step) {
    model.record_train_step(train, clock, lr, train_stats, step, s.batch);
    model.record_eval(eval, eval_stats, step, predictions, step * s.batch, s.batch);
  }
  vkm::Program train_program(device, train);
  vkm::Program eval_program(device, eval);
  e.dispatches_per_step = double(train_program.dispatches()) / s.steps;
  e.barriers_per_step = double(train_program.barriers()) / s.steps;
  e.eval_dispatches_per_batch = double(eval_program.dispatches()) / s.steps;
  e.bytes_per_step = compulsory_bytes(train) / s.steps;

  ctx.progress(
      fmt::format("end to end {}: {} training steps x {} runs", norm, s.steps, s.e2e_repeats));
  e.train = summarize(wall_clock_runs(train_program, 1, s.e2e_repeats));
  ctx.progress(
      fmt::format("end to end {}: {} eval batches x {} runs", norm, s.steps, s.e2e_repeats));
  e.eval = summarize(wall_clock_runs(eval_program, 1, s.e2e_repeats));
  const double images = double(s.batch) * s.steps;
  e.train_images_per_second = 1e3 * images / e.train.median_ms;
  e.eval_images_per_second = 1e3 * images / e.eval.median_ms;

  ctx.progress(
      fmt::format("end to end {}: one training step profiled x {} runs", norm, s.e2e_repeats));
  profile_step(ctx, model, clock, lr, train_stats, e);

  std::vector<float> stats(size_t{s.steps} * 2);
  device.download(train_stats, std::as_writable_bytes(std::span(stats)));
  e.check = "ok";
  for (float v : stats) {
    if (!std::isfinite(v)) e.check = "FAILED: the training loss is not finite";
  }
  return e;
}

}  // namespace vkbench
