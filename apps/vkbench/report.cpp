// Summaries and derived figures of a DeviceReport: median/min/max, the roofline ceilings, the
// roofline fraction of a kernel, the list of failed checks.
#include "apps/vkbench/report.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vkbench {

Stats summarize(std::vector<double> ms) {
  Stats s;
  s.repeats = ms.size();
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  s.median_ms = n % 2 == 1 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  s.min_ms = ms.front();
  s.max_ms = ms.back();
  return s;
}

bool Settings::wants(const std::string& section) const {
  return std::find(sections.begin(), sections.end(), section) != sections.end();
}

const Ceiling* DeviceReport::ceiling(const std::string& name) const {
  for (const Ceiling& c : ceilings) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

namespace {

bool measured(const Ceiling* c) {
  return c != nullptr && c->skipped.empty() && c->check == "ok" && c->time.median_ms > 0.0;
}

}  // namespace

std::optional<double> DeviceReport::peak_gflops() const {
  std::optional<double> best;
  for (const char* name : {"fma_scalar", "fma_vec4"}) {
    const Ceiling* c = ceiling(name);
    if (measured(c)) best = std::max(best.value_or(0.0), c->value);
  }
  return best;
}

std::optional<double> DeviceReport::bandwidth_gbs() const {
  // The faster of the shader copies: kernels read through texel buffers where they can.
  std::optional<double> best;
  for (const char* name : {"copy_shader", "copy_texel"}) {
    const Ceiling* c = ceiling(name);
    if (measured(c)) best = std::max(best.value_or(0.0), c->value);
  }
  return best;
}

std::vector<std::string> DeviceReport::failures() const {
  std::vector<std::string> out;
  for (const Ceiling& c : ceilings) {
    if (c.skipped.empty() && c.check != "ok")
      out.push_back(fmt::format("ceiling {}: {}", c.name, c.check));
  }
  // One line per failed case: a layer's kernels share the check of its ops.
  const KernelRow* previous = nullptr;
  for (const KernelRow& k : kernels) {
    const bool same_case =
        previous != nullptr && previous->layer == k.layer && previous->norm == k.norm;
    previous = &k;
    if (!k.skipped.empty() || k.check == "ok" || same_case) continue;
    out.push_back(
        fmt::format("{}{}: {}", k.layer, k.norm.empty() ? "" : " (" + k.norm + ")", k.check));
  }
  for (const EndToEnd& e : end_to_end) {
    if (e.skipped.empty() && e.check != "ok")
      out.push_back(fmt::format("end to end {}: {}", e.norm, e.check));
  }
  return out;
}

Roofline roofline(const DeviceReport& report, const KernelRow& row) {
  Roofline r;
  const auto peak = report.peak_gflops();
  const auto bandwidth = report.bandwidth_gbs();
  if (!row.skipped.empty() || row.check != "ok" || row.time.median_ms <= 0.0) {
    r.skipped = "kernel not timed";
  } else if (!peak || !bandwidth) {
    r.skipped = "no measured ceiling";
  } else {
    const double compute_ms = row.flops / (*peak * 1e6);
    const double memory_ms = row.bytes / (*bandwidth * 1e6);
    r.bound = compute_ms >= memory_ms ? "compute" : "memory";
    r.fraction = std::max(compute_ms, memory_ms) / row.time.median_ms;
  }
  return r;
}

}  // namespace vkbench
