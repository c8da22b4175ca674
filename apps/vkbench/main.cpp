// vkbench: the cross-vendor benchmark of vkmnist. This file parses the command line, runs the
// benchmark on the chosen devices (or `compare` on saved reports), and is the one place errors
// become a message and a non-zero exit. A failed check also exits non-zero.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "apps/vkbench/benchmark.hpp"
#include "apps/vkbench/compare.hpp"
#include "apps/vkbench/json.hpp"
#include "apps/vkbench/print.hpp"
#include "apps/vkbench/provenance.hpp"
#include "engine/device_info.hpp"
#include "engine/error.hpp"
#include "engine/instance.hpp"
#include "nn/seed_net.hpp"

namespace {

struct Options {
  std::string device;
  std::string json;
  bool quiet = false;
  vkbench::Settings settings;
  std::vector<std::string> compare_files;
  bool brief = false;
};

// --quick: a small batch and few repeats (tests, a first look); explicit options still win.
void apply_quick(CLI::App& app, vkbench::Settings& s) {
  if (!s.quick) return;
  if (app.count("--batch") == 0) s.batch = 8;
  if (app.count("--repeats") == 0) s.repeats = 3;
  if (app.count("--warmup") == 0) s.warmup = 1;
  if (app.count("--steps") == 0) s.steps = 2;
  if (app.count("--e2e-repeats") == 0) s.e2e_repeats = 2;
}

int run_benchmark(const Options& o, const std::string& command) {
  vkm::Instance instance;
  const auto devices = vkm::enumerate_devices(instance);
  std::vector<const vkm::DeviceInfo*> chosen;
  if (o.device == "all") {
    if (devices.empty()) vkm::select_device(devices, "");  // throws with install advice
    for (const auto& d : devices) chosen.push_back(&d);
  } else {
    chosen.push_back(&vkm::select_device(devices, o.device));
  }
  std::vector<vkbench::DeviceReport> reports;
  size_t failures = 0;
  size_t errors = 0;
  for (const vkm::DeviceInfo* info : chosen) {
    try {
      reports.push_back(vkbench::benchmark_device(instance, *info, o.settings, command, !o.quiet));
    } catch (const vkm::Error& e) {
      // With several devices, one that fails (a lost device, a driver error) does not stop the
      // others: its report says why, and the exit status is non-zero.
      if (chosen.size() == 1) throw;
      vkbench::DeviceReport failed;
      failed.tool = std::string("vkbench ") + VKMNIST_VERSION;
      failed.date = vkbench::now_iso8601();
      failed.command = command;
      failed.host = vkbench::host_info();
      failed.settings = o.settings;
      failed.device = vkbench::provenance(*info, !vkm::env_flag("VKMNIST_NO_SUBGROUP_OPS"));
      failed.skipped = std::string("failed: ") + e.what();
      reports.push_back(std::move(failed));
      ++errors;
    }
    fmt::print("{}\n", vkbench::report_text(reports.back()));
    std::fflush(stdout);
    failures += reports.back().failures().size();
  }
  if (!o.json.empty()) {
    vkbench::write_reports(o.json, reports);
    if (!o.quiet) fmt::print(stderr, "vkbench: wrote {}\n", o.json);
  }
  if (instance.validation() && instance.validation_messages() > 0) {
    fmt::print(stderr, "vkbench: the validation layer reported {} messages\n",
               instance.validation_messages());
    return 1;
  }
  if (errors > 0) {
    fmt::print(stderr, "vkbench: {} of {} devices failed (see above)\n", errors, chosen.size());
    return 1;
  }
  if (failures > 0) {
    fmt::print(stderr,
               "vkbench: {} FAILED checks: a kernel disagrees with the CPU reference (see above)\n",
               failures);
    return 1;
  }
  return 0;
}

int run_compare(const Options& o) {
  std::vector<vkbench::NamedReport> reports;
  for (const std::string& file : o.compare_files) {
    for (vkbench::DeviceReport& r : vkbench::read_reports(file))
      reports.push_back({file, std::move(r)});
  }
  fmt::print("{}", vkbench::compare_text(reports, o.brief));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Line-buffered stdout even into a pipe: under `2>&1 | tee` its lines and stderr's come out in
  // the order they were printed.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  CLI::App app{
      "vkbench — the cross-vendor benchmark of vkmnist: per device its provenance, measured "
      "ceilings (FMA "
      "throughput, copy bandwidth), every kernel of the seed net's training step (checked against "
      "the CPU "
      "reference, then timed by GPU timestamps, against the roofline), and end-to-end training and "
      "eval "
      "images/s for BatchNorm, LayerNorm and GroupNorm.",
      "vkbench"};
  app.footer(
      "Examples:\n"
      "  vkbench --json lavapipe.json                 the default device, batch 128\n"
      "  vkbench --device all --json all.json         every Vulkan device\n"
      "  vkbench compare a.json b.json torch.json     side by side (bench/torch_reference.py bench "
      "--json torch.json)\n\n"
      "Environment: VKMNIST_VALIDATION=1 enables the validation layer (any message fails the run); "
      "VKMNIST_NO_SUBGROUP_OPS=1 uses shared-memory reductions only; VKMNIST_NO_TEXEL_BUFFERS=1 "
      "reads activations from storage buffers instead of texel buffers; "
      "LP_NATIVE_VECTOR_WIDTH=256|512 gives "
      "lavapipe subgroups of 8|16.");
  app.set_version_flag("--version", std::string("vkbench ") + VKMNIST_VERSION);
  Options o;
  vkbench::Settings& s = o.settings;
  app.add_option("--device", o.device,
                 "Device index, name substring, or 'all' (default: the preferred device)");
  app.add_option("--batch", s.batch, "Batch size of the kernel table and the end-to-end programs")
      ->check(CLI::Range(1u, 1u << 16))
      ->capture_default_str();
  app.add_option("--json", o.json, "Write the report(s) as JSON to this file");
  app.add_option("--repeats", s.repeats,
                 "Timed repeats of each kernel and ceiling (the median is reported)")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  app.add_option("--warmup", s.warmup, "Untimed runs before the timed ones")->capture_default_str();
  app.add_option("--steps", s.steps, "Training steps (and eval batches) per end-to-end program")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  app.add_option("--e2e-repeats", s.e2e_repeats, "Timed runs of each end-to-end program")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  app.add_option("--norms", s.norms, "Norms to measure (bn, ln, gn, in)")
      ->delimiter(',')
      ->check(CLI::IsMember({"bn", "ln", "gn", "in"}))
      ->capture_default_str();
  app.add_option("--groups", s.groups, "GroupNorm's groups (1, 2, 4 or 8)")
      ->check(CLI::IsMember({1u, 2u, 4u, 8u}))
      ->capture_default_str();
  app.add_option("--sections", s.sections, "What to measure (provenance always)")
      ->delimiter(',')
      ->check(CLI::IsMember({"ceilings", "kernels", "e2e", "pipelines"}))
      ->capture_default_str();
  app.add_flag("--quick", s.quick,
               "A small run for tests and a first look: batch 8, 3 repeats, 2 steps, no warm "
               "pipeline cache");
  app.add_flag("--quiet", o.quiet, "No progress lines on stderr");
  auto* compare = app.add_subcommand(
      "compare", "Put saved reports side by side (vkbench or torch_reference.py JSON)");
  compare->add_option("files", o.compare_files, "Report files")
      ->required()
      ->check(CLI::ExistingFile);
  compare->add_flag("--brief", o.brief, "Kernel time per family (convolutions, norms, the rest)");
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  apply_quick(app, s);
  std::string command = "vkbench";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  try {
    if (compare->parsed()) return run_compare(o);
    return run_benchmark(o, command);
  } catch (const vkm::DeviceChoiceError& e) {  // the choice came from --device
    std::fflush(stdout);
    std::fprintf(stderr, "vkbench: --device: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "vkbench: %s\n", e.what());
    return 1;
  }
}
