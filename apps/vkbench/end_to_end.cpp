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

// Every kernel of one training step and one eval batch dispatched once with no workgroups: a
// driver that compiles a kernel at its first dispatch (lavapipe) compiles it here.
void first_dispatches(vkm::Device& device, nn::Model& model, const Settings& settings) {
  const vkm::Buffer clock = upload_buffer(
      device, std::vector<nn::ClockState>{{.epoch = 0, .steps_per_epoch = 1, .seed = 1}}, "clock");
  const vkm::Buffer lr = upload_buffer(device, std::vector<float>{0.01f}, "lr schedule");
  const vkm::Buffer stats = device.buffer(2 * sizeof(float), "stats");
  const vkm::Buffer predictions =
      device.buffer(size_t{settings.batch} * sizeof(uint32_t), "predictions");
  vkm::Graph train, eval;
  model.record_train_step(train, clock, lr, stats, 0, settings.batch);
  model.record_eval(eval, stats, 0, predictions, 0, settings.batch);
  for (const vkm::Graph* g : {&train, &eval}) vkm::Program(device, g->compile_run()).run();
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
    run.kernels->wait();  // the pipelines are created on threads of their own
  });
  run.times.kernels = run.kernels->size();
  run.times.first_dispatch_seconds =
      seconds([&] { first_dispatches(device, *run.model, settings); });
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
      run.kernels->wait();
    });
  }
  // The same build with every pipeline already made: what the model's buffers and uploads cost.
  const double rest = seconds(
      [&] { nn::Model again(device, *run.kernels, config, settings.batch, nn::UpdateConfig{}); });
  run.times.cold_seconds = cold;
  run.times.warm_seconds = warm;
  run.times.note = fmt::format(
      "building the model: its {} pipelines (created {} at a time, one per core), buffers and "
      "initial uploads ({:.3f} s of it when every pipeline is already made); the saved pipeline "
      "cache held {} bytes{}",
      run.times.kernels, run.kernels->builders(), rest, ec ? 0 : cache_bytes,
      ec || cache_bytes < 64 ? " (the driver keeps nothing in it: warm cannot beat cold)" : "");
  run.times.note +=
      "; the first dispatches are where lavapipe compiles with LLVM (about 100 s for a model "
      "when Mesa's disk cache, ~/.cache/mesa_shader_cache, does not hold its kernels yet)";
  return run;
}

// A node's bound buffers, each read or written once.
double node_bytes(const vkm::Node& node) {
  double bytes = 0.0;
  for (const vkm::Binding& b : node.bindings) bytes += double(b.buffer->size());
  return bytes;
}

// Every dispatch's bound buffers, each read or written once.
double compulsory_bytes(const vkm::Graph& graph) {
  double bytes = 0.0;
  for (const vkm::Node& node : graph.nodes()) {
    if (node.kind == vkm::Node::Kind::kDispatch) bytes += node_bytes(node);
  }
  return bytes;
}

// One training step with a timestamp around each dispatch (each then runs alone): the median
// per dispatch over e2e_repeats runs, summed per kernel.
void profile_step(const BenchContext& ctx, nn::Model& model, const vkm::Buffer& clock,
                  const vkm::Buffer& lr, const vkm::Buffer& stats, EndToEnd& e) {
  vkm::Graph graph;
  model.record_train_step(graph, clock, lr, stats, 0, ctx.settings.batch);
  for (const vkm::Node& node : graph.nodes()) {
    if (node.kind != vkm::Node::Kind::kDispatch) continue;
    const auto& local = node.kernel->local_size();
    const uint64_t groups = uint64_t{node.groups[0]} * node.groups[1] * node.groups[2];
    e.step_dispatches.push_back({node.label, groups, groups * local[0] * local[1] * local[2],
                                 double(node.macs), double(node.serial_macs)});
  }
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
    it->bytes += node_bytes(node);
  }
}

struct EndToEndRun::State {
  std::unique_ptr<nn::Model> model;
  EndToEnd e;
  vkm::Buffer clock, lr, train_stats, eval_stats, predictions;
  std::unique_ptr<vkm::Program> train, eval;
  std::vector<double> train_ms, eval_ms;
};

EndToEndRun::EndToEndRun(const BenchContext& ctx, std::unique_ptr<nn::Model> model,
                         const std::string& norm)
    : ctx_(ctx), s_(std::make_unique<State>()) {
  vkm::Device& device = ctx.device;
  const Settings& st = ctx.settings;
  State& s = *s_;
  s.model = std::move(model);
  s.e = EndToEnd{.norm = norm, .batch = st.batch, .steps = st.steps};
  s.model->initialize(1);
  // Inputs like normalized MNIST (background -0.42, strokes up to 2.8), random labels.
  s.model->input().upload(
      random_floats(size_t{st.batch} * nn::kImageSize * nn::kImageSize, -0.42f, 2.8f, 71));
  const auto labels = random_labels(st.batch, nn::kClasses, 72);
  device.upload(s.model->labels(), std::as_bytes(std::span(labels)));

  s.clock = upload_buffer(
      device, std::vector<nn::ClockState>{{.epoch = 0, .steps_per_epoch = st.steps, .seed = 1}},
      "clock");
  s.lr = upload_buffer(device, std::vector<float>(st.steps, 0.01f), "lr schedule");
  s.train_stats = device.buffer(size_t{st.steps} * 2 * sizeof(float), "train stats");
  s.eval_stats = device.buffer(size_t{st.steps} * 2 * sizeof(float), "eval stats");
  s.predictions = device.buffer(size_t{st.steps} * st.batch * sizeof(uint32_t), "predictions");

  vkm::Graph train, eval;
  for (uint32_t step = 0; step < st.steps; ++step) {
    s.model->record_train_step(train, s.clock, s.lr, s.train_stats, step, st.batch);
    s.model->record_eval(eval, s.eval_stats, step, s.predictions, step * st.batch, st.batch);
  }
  s.train = std::make_unique<vkm::Program>(device, train);
  s.eval = std::make_unique<vkm::Program>(device, eval);
  s.e.dispatches_per_step = double(s.train->dispatches()) / st.steps;
  s.e.barriers_per_step = double(s.train->barriers()) / st.steps;
  s.e.eval_dispatches_per_batch = double(s.eval->dispatches()) / st.steps;
  s.e.bytes_per_step = compulsory_bytes(train) / st.steps;
}

EndToEndRun::~EndToEndRun() = default;

void EndToEndRun::warm_up() {
  s_->train->run();
  s_->eval->run();
}

void EndToEndRun::time_once() {
  State& s = *s_;
  const auto train = wall_clock_runs(*s.train, 0, 1);
  const auto eval = wall_clock_runs(*s.eval, 0, 1);
  s.train_ms.push_back(train.front());
  s.eval_ms.push_back(eval.front());
}

EndToEnd EndToEndRun::finish() {
  State& s = *s_;
  const Settings& st = ctx_.settings;
  s.e.train = summarize(s.train_ms);
  s.e.eval = summarize(s.eval_ms);
  const double images = double(st.batch) * st.steps;
  s.e.train_images_per_second = 1e3 * images / s.e.train.median_ms;
  s.e.eval_images_per_second = 1e3 * images / s.e.eval.median_ms;

  ctx_.progress(
      fmt::format("end to end {}: one training step profiled x {} runs", s.e.norm, st.e2e_repeats));
  profile_step(ctx_, *s.model, s.clock, s.lr, s.train_stats, s.e);

  std::vector<float> stats(size_t{st.steps} * 2);
  ctx_.device.download(s.train_stats, std::as_writable_bytes(std::span(stats)));
  s.e.check = "ok";
  for (float v : stats) {
    if (!std::isfinite(v)) s.e.check = "FAILED: the training loss is not finite";
  }
  return s.e;
}

}  // namespace vkbench
