// What vkbench measures on one device, as plain data: provenance, ceilings, the kernel table, end
// to end rates and pipeline creation times. Filled by the measuring code, written as JSON
// (json.hpp), printed as tables (print.hpp) and read back by `vkbench compare`.
// Anything a device cannot do carries `skipped` (the reason) instead of numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vkbench {

// Median, min and max of repeated timings (milliseconds).
struct Stats {
  double median_ms = 0.0;
  double min_ms = 0.0;
  double max_ms = 0.0;
  size_t repeats = 0;
};
Stats summarize(std::vector<double> ms);

struct Settings {
  uint32_t batch = 128;
  uint32_t repeats = 10;     // timed repeats per kernel and ceiling
  uint32_t warmup = 2;       // untimed runs before them
  uint32_t steps = 10;       // training steps (eval batches) per end-to-end program
  uint32_t e2e_repeats = 5;  // timed runs of each end-to-end program
  bool quick = false;
  std::vector<std::string> norms = {"bn", "ln", "gn"};
  uint32_t groups = 4;  // GroupNorm's groups
  // What to measure: any of ceilings, kernels, e2e, pipelines (provenance always).
  std::vector<std::string> sections = {"ceilings", "kernels", "e2e", "pipelines"};
  bool wants(const std::string& section) const;
};

struct Host {
  std::string cpu;
  uint32_t threads = 0;
  std::string load_average;  // /proc/loadavg at the start: timings are noisy under load
};

struct Heap {
  uint64_t bytes = 0;
  bool device_local = false;
};

struct Provenance {
  uint32_t index = 0;
  std::string name, vendor, type, driver_name, driver_info, driver_version, api_version;
  uint32_t vendor_id = 0;
  uint32_t subgroup_size = 0, subgroup_min = 0, subgroup_max = 0;
  bool subgroup_size_control = false;
  std::string subgroup_operations;
  bool subgroup_ops_used = true;  // false under VKMNIST_NO_SUBGROUP_OPS=1
  std::string kernels;            // the kernel shape, "cpu" or "gpu" (vkm::kernel_shape_for)
  double timestamp_period_ns = 0.0;
  uint32_t timestamp_bits = 0;
  std::vector<Heap> heaps;
  std::map<std::string, std::string> environment;  // driver knobs set for this run
};

// A measured peak: FMA throughput or copy bandwidth.
struct Ceiling {
  std::string name;     // fma_scalar, fma_vec4, copy_shader, copy_transfer
  std::string unit;     // "GFLOP/s" or "GB/s"
  std::string counts;   // what one unit of work is
  std::string skipped;  // non-empty: why it was not measured (no numbers then)
  std::string check;    // "ok" or "FAILED: ..."
  double work = 0.0;    // FLOPs or bytes per dispatch
  Stats time;
  double value = 0.0;  // work / the best (shortest) time, in `unit`
};

// One kernel (or a group of identical small dispatches) of the training step.
struct KernelRow {
  std::string layer;   // conv3, norm3, pool3, loss, sgd
  std::string norm;    // bn, ln, gn for norm kernels, else ""
  std::string kernel;  // the shader
  std::string shape;   // the layer's input shape
  size_t dispatches = 1;
  double flops = 0.0;
  double bytes = 0.0;  // read + write, each tensor once
  // Parallelism (the largest of the row's dispatches): workgroups and invocations it launches,
  // and the serial work of one invocation, FLOPs / 2 / invocations in MACs (the kernels divide
  // their work evenly, so the mean is the longest but for idle lanes past the batch).
  uint64_t workgroups = 0;
  uint64_t invocations = 0;
  double macs_per_invocation = 0.0;
  std::string check;          // "ok" or "FAILED: ..." (the op this kernel belongs to)
  double check_rel_l2 = 0.0;  // worst relative L2 error over the op's outputs
  std::string skipped;
  Stats time;
};

struct EndToEnd {
  std::string norm;
  uint32_t batch = 0;
  uint32_t steps = 0;
  std::string skipped;
  std::string check;  // "ok" or "FAILED: ..." (the loss of the timed steps must be finite)
  Stats train;        // one program of `steps` training steps
  Stats eval;         // one program of `steps` eval batches
  double dispatches_per_step = 0.0;
  double barriers_per_step = 0.0;
  double eval_dispatches_per_batch = 0.0;
  // Memory traffic of one training step: the compulsory bytes of its dispatches (each bound
  // buffer read or written once per dispatch), and the least any implementation that stores
  // activations moves (see minimum_step_bytes).
  double bytes_per_step = 0.0;
  double minimum_bytes_per_step = 0.0;
  // One training step profiled (timestamps around each dispatch, run one at a time): per kernel,
  // its dispatches in the step and their summed median ms, in the step's order of first use.
  struct StepKernel {
    std::string kernel;
    uint32_t dispatches = 0;
    double ms = 0.0;
    double bytes = 0.0;  // the buffers its dispatches bind, each read or written once
  };
  std::vector<StepKernel> step_kernels;
  double step_kernel_ms = 0.0;  // their sum
  // The parallelism of each dispatch of one training step, in order: its workgroups and
  // invocations, and the multiply-adds it does and that one invocation does alone (0: not a
  // multiply-add kernel; vkm::Node::macs).
  struct StepDispatch {
    std::string label;
    uint64_t workgroups = 0;
    uint64_t invocations = 0;
    double macs = 0.0;
    double serial_macs = 0.0;
  };
  std::vector<StepDispatch> step_dispatches;
  double train_images_per_second = 0.0;  // batch * steps / median
  double eval_images_per_second = 0.0;
};

struct PipelineTimes {
  std::string model;  // the net whose kernels were built
  size_t kernels = 0;
  std::string skipped;  // the whole measurement
  double cold_seconds = 0.0;
  std::string warm_skipped;
  double warm_seconds = 0.0;
  // Every kernel's first dispatch (no workgroups) after the cold build: where a driver compiles
  // (lavapipe: LLVM, kept by Mesa's disk cache between processes). Negative: not measured.
  double first_dispatch_seconds = -1.0;
  std::string note;
};

struct DeviceReport {
  std::string tool;
  std::string date;
  std::string command;
  Settings settings;
  Host host;
  Provenance device;
  std::string skipped;  // the device could not be benchmarked at all
  std::vector<Ceiling> ceilings;
  std::vector<KernelRow> kernels;
  std::vector<EndToEnd> end_to_end;
  std::optional<PipelineTimes> pipelines;

  const Ceiling* ceiling(const std::string& name) const;
  // The roofline's two ceilings: the best FMA rate (GFLOP/s) and the shader copy (GB/s).
  std::optional<double> peak_gflops() const;
  std::optional<double> bandwidth_gbs() const;
  // Every check that failed, as "what: why" lines (empty: all passed).
  std::vector<std::string> failures() const;
};

// Roofline of one kernel: the time its FLOPs and bytes need at the ceilings over the time taken.
struct Roofline {
  std::string skipped;
  double fraction = 0.0;
  std::string bound;  // "compute" or "memory"
};
Roofline roofline(const DeviceReport& report, const KernelRow& row);

}  // namespace vkbench
