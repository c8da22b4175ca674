// DeviceReport <-> JSON. Writing gives every figure with what it counts; reading is lenient (a
// missing field keeps its default) so that bench/torch_reference.py's files, which hold only the
// device and the end-to-end rows, read as reports too.
#include "apps/vkbench/json.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "engine/atomic_file.hpp"
#include "engine/error.hpp"

namespace vkbench {

using nlohmann::ordered_json;

namespace {

ordered_json stats_json(const Stats& s) {
  return {{"median_ms", s.median_ms},
          {"min_ms", s.min_ms},
          {"max_ms", s.max_ms},
          {"repeats", s.repeats}};
}

Stats read_stats(const ordered_json& j) {
  Stats s;
  s.median_ms = j.value("median_ms", 0.0);
  s.min_ms = j.value("min_ms", 0.0);
  s.max_ms = j.value("max_ms", 0.0);
  s.repeats = j.value("repeats", size_t{0});
  return s;
}

void merge(ordered_json& into, const ordered_json& from) {
  for (const auto& [key, value] : from.items()) into[key] = value;
}

ordered_json device_json(const Provenance& p) {
  ordered_json heaps = ordered_json::array();
  for (const Heap& h : p.heaps)
    heaps.push_back({{"bytes", h.bytes}, {"device_local", h.device_local}});
  return {{"index", p.index},
          {"name", p.name},
          {"vendor", p.vendor},
          {"vendor_id", fmt::format("0x{:04x}", p.vendor_id)},
          {"type", p.type},
          {"driver_name", p.driver_name},
          {"driver_info", p.driver_info},
          {"driver_version", p.driver_version},
          {"api_version", p.api_version},
          {"subgroup_size", p.subgroup_size},
          {"subgroup_min", p.subgroup_min},
          {"subgroup_max", p.subgroup_max},
          {"subgroup_size_control", p.subgroup_size_control},
          {"subgroup_operations", p.subgroup_operations},
          {"subgroup_ops_used", p.subgroup_ops_used},
          {"kernels", p.kernels},
          {"timestamp_period_ns", p.timestamp_period_ns},
          {"timestamp_bits", p.timestamp_bits},
          {"memory_heaps", heaps},
          {"environment", p.environment}};
}

Provenance read_device(const ordered_json& j) {
  Provenance p;
  p.index = j.value("index", 0u);
  p.name = j.value("name", std::string("?"));
  p.vendor = j.value("vendor", std::string());
  p.type = j.value("type", std::string());
  p.driver_name = j.value("driver_name", std::string());
  p.driver_info = j.value("driver_info", std::string());
  p.driver_version = j.value("driver_version", std::string());
  p.api_version = j.value("api_version", std::string());
  p.subgroup_size = j.value("subgroup_size", 0u);
  p.subgroup_min = j.value("subgroup_min", 0u);
  p.subgroup_max = j.value("subgroup_max", 0u);
  p.subgroup_size_control = j.value("subgroup_size_control", false);
  p.subgroup_operations = j.value("subgroup_operations", std::string());
  p.subgroup_ops_used = j.value("subgroup_ops_used", true);
  p.kernels = j.value("kernels", std::string("cpu"));  // reports before the GPU shape: cpu
  if (j.contains("environment"))
    p.environment = j["environment"].get<std::map<std::string, std::string>>();
  if (j.contains("memory_heaps")) {
    for (const auto& h : j["memory_heaps"])
      p.heaps.push_back({h.value("bytes", uint64_t{0}), h.value("device_local", false)});
  }
  return p;
}

ordered_json kernel_json(const DeviceReport& report, const KernelRow& k) {
  ordered_json j = {{"layer", k.layer},
                    {"norm", k.norm},
                    {"kernel", k.kernel},
                    {"shape", k.shape},
                    {"dispatches", k.dispatches},
                    {"flops", k.flops},
                    {"bytes", k.bytes},
                    {"workgroups", k.workgroups},
                    {"invocations", k.invocations},
                    {"macs_per_invocation", k.macs_per_invocation},
                    {"check", k.check},
                    {"check_rel_l2", k.check_rel_l2}};
  if (!k.skipped.empty()) {
    j["skipped"] = k.skipped;
    return j;
  }
  if (k.check != "ok") return j;
  merge(j, stats_json(k.time));
  j["gflops"] = k.flops / (k.time.median_ms * 1e6);
  j["gbs"] = k.bytes / (k.time.median_ms * 1e6);
  const Roofline r = roofline(report, k);
  if (r.skipped.empty()) {
    j["roofline_fraction"] = r.fraction;
    j["bound"] = r.bound;
  } else {
    j["roofline_skipped"] = r.skipped;
  }
  return j;
}

}  // namespace

ordered_json to_json(const DeviceReport& r) {
  ordered_json j;
  j["tool"] = r.tool;
  j["date"] = r.date;
  j["command"] = r.command;
  j["settings"] = {{"batch", r.settings.batch},
                   {"repeats", r.settings.repeats},
                   {"warmup", r.settings.warmup},
                   {"steps", r.settings.steps},
                   {"e2e_repeats", r.settings.e2e_repeats},
                   {"quick", r.settings.quick},
                   {"norms", r.settings.norms},
                   {"groups", r.settings.groups},
                   {"sections", r.settings.sections}};
  j["host"] = {
      {"cpu", r.host.cpu}, {"threads", r.host.threads}, {"load_average", r.host.load_average}};
  j["device"] = device_json(r.device);
  if (!r.skipped.empty()) j["skipped"] = r.skipped;

  ordered_json ceilings = ordered_json::array();
  for (const Ceiling& c : r.ceilings) {
    ordered_json cj = {{"name", c.name}, {"unit", c.unit}, {"counts", c.counts}};
    if (!c.skipped.empty()) {
      cj["skipped"] = c.skipped;
    } else {
      cj["check"] = c.check;
      cj["work"] = c.work;
      if (c.check == "ok") {
        cj["value"] = c.value;  // at the best time
        cj["value_at_median"] = c.work / (c.time.median_ms * 1e6);
        merge(cj, stats_json(c.time));
      }
    }
    ceilings.push_back(cj);
  }
  j["ceilings"] = ceilings;
  const auto peak = r.peak_gflops();
  const auto bandwidth = r.bandwidth_gbs();
  if (peak && bandwidth) {
    j["roofline"] = {
        {"peak_gflops", *peak},
        {"bandwidth_gbs", *bandwidth},
        {"counts",
         "peak: the faster FMA ceiling, bandwidth: the faster of copy_shader and copy_texel "
         "(read + write bytes), "
         "each at its best run"}};
  } else {
    j["roofline"] = {{"skipped", "no measured ceiling"}};
  }

  ordered_json kernels = ordered_json::array();
  for (const KernelRow& k : r.kernels) kernels.push_back(kernel_json(r, k));
  j["kernels"] = kernels;

  ordered_json e2e = ordered_json::array();
  for (const EndToEnd& e : r.end_to_end) {
    ordered_json ej = {{"norm", e.norm}, {"batch", e.batch}, {"steps", e.steps}};
    if (!e.skipped.empty()) {
      ej["skipped"] = e.skipped;
    } else {
      ej["train_images_per_second"] = e.train_images_per_second;
      ej["eval_images_per_second"] = e.eval_images_per_second;
      ej["check"] = e.check;
      ej["train_ms"] = stats_json(e.train);
      ej["eval_ms"] = stats_json(e.eval);
      ej["dispatches_per_step"] = e.dispatches_per_step;
      ej["barriers_per_step"] = e.barriers_per_step;
      ej["eval_dispatches_per_batch"] = e.eval_dispatches_per_batch;
      if (e.bytes_per_step > 0.0) ej["bytes_per_step"] = e.bytes_per_step;
      ej["minimum_bytes_per_step"] = e.minimum_bytes_per_step;
      ej["step_kernel_ms"] = e.step_kernel_ms;
      ordered_json step = ordered_json::array();
      for (const auto& k : e.step_kernels) {
        step.push_back(
            {{"kernel", k.kernel}, {"dispatches", k.dispatches}, {"ms", k.ms}, {"bytes", k.bytes}});
      }
      ej["step_kernels"] = step;
      ordered_json dispatches = ordered_json::array();
      for (const auto& d : e.step_dispatches) {
        dispatches.push_back({{"label", d.label},
                              {"workgroups", d.workgroups},
                              {"invocations", d.invocations},
                              {"macs", d.macs},
                              {"serial_macs", d.serial_macs}});
      }
      ej["step_dispatches"] = dispatches;
    }
    e2e.push_back(ej);
  }
  j["end_to_end"] = e2e;

  if (r.pipelines) {
    const PipelineTimes& p = *r.pipelines;
    ordered_json pj = {{"model", p.model}};
    if (!p.skipped.empty()) {
      pj["skipped"] = p.skipped;
    } else {
      pj["kernels"] = p.kernels;
      pj["cold_seconds"] = p.cold_seconds;
      if (p.warm_skipped.empty()) {
        pj["warm_seconds"] = p.warm_seconds;
      } else {
        pj["warm_skipped"] = p.warm_skipped;
      }
      if (p.first_dispatch_seconds >= 0.0) pj["first_dispatch_seconds"] = p.first_dispatch_seconds;
      pj["note"] = p.note;
    }
    j["pipelines"] = pj;
  }
  return j;
}

DeviceReport report_from_json(const ordered_json& j) {
  DeviceReport r;
  r.tool = j.value("tool", std::string());
  r.date = j.value("date", std::string());
  r.skipped = j.value("skipped", std::string());
  if (j.contains("settings")) r.settings.batch = j["settings"].value("batch", 0u);
  if (j.contains("host")) {
    r.host.cpu = j["host"].value("cpu", std::string());
    r.host.threads = j["host"].value("threads", 0u);
    r.host.load_average = j["host"].value("load_average", std::string());
  }
  if (!j.contains("device"))
    throw vkm::Error("not a vkbench or torch_reference.py report: no \"device\"");
  r.device = read_device(j["device"]);
  for (const auto& c : j.value("ceilings", ordered_json::array())) {
    Ceiling ceiling{.name = c.value("name", std::string()),
                    .unit = c.value("unit", std::string()),
                    .counts = c.value("counts", std::string()),
                    .skipped = c.value("skipped", std::string()),
                    .check = c.value("check", std::string()),
                    .work = c.value("work", 0.0),
                    .time = read_stats(c),
                    .value = c.value("value", 0.0)};
    r.ceilings.push_back(ceiling);
  }
  for (const auto& k : j.value("kernels", ordered_json::array())) {
    KernelRow row{.layer = k.value("layer", std::string()),
                  .norm = k.value("norm", std::string()),
                  .kernel = k.value("kernel", std::string()),
                  .shape = k.value("shape", std::string()),
                  .dispatches = k.value("dispatches", size_t{1}),
                  .flops = k.value("flops", 0.0),
                  .bytes = k.value("bytes", 0.0),
                  .workgroups = k.value("workgroups", uint64_t{0}),
                  .invocations = k.value("invocations", uint64_t{0}),
                  .macs_per_invocation = k.value("macs_per_invocation", 0.0),
                  .check = k.value("check", std::string()),
                  .check_rel_l2 = k.value("check_rel_l2", 0.0),
                  .skipped = k.value("skipped", std::string()),
                  .time = read_stats(k)};
    r.kernels.push_back(row);
  }
  for (const auto& e : j.value("end_to_end", ordered_json::array())) {
    EndToEnd row{.norm = e.value("norm", std::string()),
                 .batch = e.value("batch", 0u),
                 .steps = e.value("steps", 0u),
                 .skipped = e.value("skipped", std::string()),
                 .check = e.value("check", std::string("ok"))};
    row.train_images_per_second = e.value("train_images_per_second", 0.0);
    row.eval_images_per_second = e.value("eval_images_per_second", 0.0);
    row.dispatches_per_step = e.value("dispatches_per_step", 0.0);
    row.barriers_per_step = e.value("barriers_per_step", 0.0);
    row.bytes_per_step = e.value("bytes_per_step", 0.0);
    row.minimum_bytes_per_step = e.value("minimum_bytes_per_step", 0.0);
    row.step_kernel_ms = e.value("step_kernel_ms", 0.0);
    for (const auto& k : e.value("step_kernels", ordered_json::array())) {
      row.step_kernels.push_back({.kernel = k.value("kernel", std::string()),
                                  .dispatches = k.value("dispatches", 0u),
                                  .ms = k.value("ms", 0.0),
                                  .bytes = k.value("bytes", 0.0)});
    }
    for (const auto& d : e.value("step_dispatches", ordered_json::array())) {
      row.step_dispatches.push_back({.label = d.value("label", std::string()),
                                     .workgroups = d.value("workgroups", uint64_t{0}),
                                     .invocations = d.value("invocations", uint64_t{0}),
                                     .macs = d.value("macs", 0.0),
                                     .serial_macs = d.value("serial_macs", 0.0)});
    }
    r.end_to_end.push_back(row);
  }
  if (j.contains("pipelines")) {
    const auto& p = j["pipelines"];
    r.pipelines = PipelineTimes{.model = p.value("model", std::string()),
                                .kernels = p.value("kernels", size_t{0}),
                                .skipped = p.value("skipped", std::string()),
                                .cold_seconds = p.value("cold_seconds", 0.0),
                                .warm_skipped = p.value("warm_skipped", std::string()),
                                .warm_seconds = p.value("warm_seconds", 0.0),
                                .first_dispatch_seconds = p.value("first_dispatch_seconds", -1.0),
                                .note = p.value("note", std::string())};
  }
  return r;
}

void write_reports(const std::string& path, const std::vector<DeviceReport>& reports) {
  ordered_json j;
  if (reports.size() == 1) {
    j = to_json(reports[0]);
  } else {
    j["reports"] = ordered_json::array();
    for (const DeviceReport& r : reports) j["reports"].push_back(to_json(r));
  }
  vkm::write_file_atomically(path, j.dump(2) + "\n");
}

std::vector<DeviceReport> read_reports(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw vkm::Error(fmt::format("cannot read {}: no such file", path));
  ordered_json j;
  try {
    j = ordered_json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw vkm::Error(fmt::format("{} is not valid JSON: {}", path, e.what()));
  }
  std::vector<DeviceReport> out;
  try {
    if (j.contains("reports")) {
      for (const auto& r : j["reports"]) out.push_back(report_from_json(r));
    } else {
      out.push_back(report_from_json(j));
    }
  } catch (const nlohmann::json::exception& e) {
    throw vkm::Error(fmt::format("{}: unexpected content: {}", path, e.what()));
  } catch (const vkm::Error& e) {
    throw vkm::Error(fmt::format("{}: {}", path, e.what()));
  }
  return out;
}

}  // namespace vkbench
