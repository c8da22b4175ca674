// The screen report of one device: provenance, ceilings, the kernel table, the step's time by
// norm, end to end, pipelines — each table saying what it measured and how.
#include "apps/vkbench/print.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <map>

#include "apps/vkbench/check.hpp"
#include "apps/vkbench/table.hpp"

namespace vkbench {

namespace {

std::string skipped(const std::string& reason) {
  return "skipped: " + reason;
}

std::string provenance_text(const DeviceReport& r) {
  const Provenance& d = r.device;
  std::string heaps;
  for (const Heap& h : d.heaps) {
    heaps += fmt::format("{}{}{}", heaps.empty() ? "" : ", ", bytes_text(double(h.bytes)),
                         h.device_local ? " device-local" : "");
  }
  std::string env;
  for (const auto& [k, v] : d.environment) env += fmt::format(" {}={}", k, v);
  std::string out =
      fmt::format("== [{}] {} — {} {}, driver {} {} ({}), Vulkan {} ==\n", d.index, d.name,
                  d.vendor, d.type, d.driver_name, d.driver_info, d.driver_version, d.api_version);
  out += fmt::format(
      "subgroups: {} {}, operations [{}]{}\n", d.subgroup_size,
      d.subgroup_size_control ? fmt::format("(size control {}..{})", d.subgroup_min, d.subgroup_max)
                              : std::string("(no size control)"),
      d.subgroup_operations, d.subgroup_ops_used ? "" : "; not used (VKMNIST_NO_SUBGROUP_OPS)");
  out += fmt::format("kernels: shaped for {}\n", d.kernels == "cpu"   ? "CPU drivers (cpu)"
                                                 : d.kernels == "gpu" ? "GPUs (gpu)"
                                                                      : d.kernels);
  out += fmt::format("memory heaps: {}; timestamps: {} bits, {} ns per tick\n",
                     heaps.empty() ? "none" : heaps, d.timestamp_bits, d.timestamp_period_ns);
  if (!env.empty()) out += "environment:" + env + "\n";
  out += fmt::format(
      "host: {}, {} threads, load average {} at the start (other work on the machine makes "
      "timings noisy: medians are reported)\n",
      r.host.cpu.empty() ? "?" : r.host.cpu, r.host.threads, r.host.load_average);
  const Settings& s = r.settings;
  out += fmt::format(
      "settings: batch {}, {} timed repeats after {} warm-up runs; end to end {} steps x {} "
      "runs{}\n",
      s.batch, s.repeats, s.warmup, s.steps, s.e2e_repeats, s.quick ? " (--quick)" : "");
  return out;
}

std::string ceilings_text(const DeviceReport& r) {
  Table t({"ceiling", ">best rate", ">at median", ">median ms", ">min ms", ">max ms", "counts",
           "check"});
  for (const Ceiling& c : r.ceilings) {
    if (!c.skipped.empty()) {
      t.add({c.name, skipped(c.skipped)});
    } else if (c.check != "ok") {
      t.add({c.name, "FAILED check", "", "", "", "", c.counts, "FAILED (below)"});
    } else {
      t.add({c.name, number(c.value) + " " + c.unit, number(c.work / (c.time.median_ms * 1e6)),
             number(c.time.median_ms), number(c.time.min_ms), number(c.time.max_ms), c.counts,
             c.check});
    }
  }
  return fmt::format(
      "Ceilings (GPU timestamps, {} runs; the best rate is the ceiling the roofline uses)\n{}",
      r.settings.repeats, t.str());
}

std::string kernels_text(const DeviceReport& r) {
  Table t({"layer", "norm", "kernel", "input", ">median ms", ">min ms", ">max ms", ">GFLOP/s",
           ">GB/s", ">roofline", "bound", ">invocations", ">MACs each", "check"});
  // Parallelism: invocations and the serial MACs of each, for every kernel; the bar a GPU-shaped
  // step must hold (issue "Fast on real GPUs"): a dispatch of >= 1 MFLOP offers >= 16,384.
  const auto invocations = [](const KernelRow& k) {
    return k.invocations == 0 ? std::string("—") : fmt::format("{}", k.invocations);
  };
  const auto serial = [](const KernelRow& k) {
    return k.invocations == 0 ? std::string("—") : number(k.macs_per_invocation);
  };
  for (const KernelRow& k : r.kernels) {
    const std::string kernel =
        k.dispatches > 1 ? fmt::format("{} x{}", k.kernel, k.dispatches) : k.kernel;
    if (!k.skipped.empty()) {
      t.add({k.layer, k.norm, kernel, k.shape, skipped(k.skipped), "", "", "", "", "", "",
             invocations(k), serial(k), k.check});
      continue;
    }
    if (k.check != "ok") {
      t.add({k.layer, k.norm, kernel, k.shape, "FAILED check", "", "", "", "", "", "",
             invocations(k), serial(k), "FAILED (below)"});
      continue;
    }
    const Roofline roof = roofline(r, k);
    const double seconds = k.time.median_ms * 1e-3;
    t.add({k.layer, k.norm, kernel, k.shape, number(k.time.median_ms), number(k.time.min_ms),
           number(k.time.max_ms), number(k.flops / seconds * 1e-9),
           number(k.bytes / seconds * 1e-9),
           roof.skipped.empty() ? fmt::format("{:.1f}%", 100.0 * roof.fraction)
                                : skipped(roof.skipped),
           roof.bound, invocations(k), serial(k), fmt::format("ok ({:.0e})", k.check_rel_l2)});
  }
  size_t big = 0, wide = 0;
  for (const KernelRow& k : r.kernels) {
    if (k.flops / double(k.dispatches) < 1e6 || k.invocations == 0) continue;
    ++big;
    if (k.invocations >= 16384) ++wide;
  }
  std::string out = fmt::format(
      "Kernels of the training step at batch {} (each layer alone on random inputs, checked "
      "against nn/reference "
      "to {:.0e} relative L2, then timed by GPU timestamps: median of {}; bytes = every bound "
      "buffer "
      "read or "
      "written once; roofline = max(FLOPs / peak FMA, bytes / copy bandwidth) / time)\n",
      r.settings.batch, kCheckTolerance, r.settings.repeats);
  out += t.str();
  if (big > 0) {
    out += fmt::format(
        "Parallelism: {} of the {} kernels doing >= 1 MFLOP per dispatch launch >= 16,384 "
        "invocations (what fills a large GPU; these kernels are shaped for CPU drivers, whose "
        "threads want few, long invocations)\n",
        wide, big);
  }
  return out;
}

// "63.2 (36.9)": the step's compulsory bytes and the net's minimum, in MB.
std::string megabytes(const EndToEnd& e) {
  if (e.minimum_bytes_per_step <= 0.0) return "—";
  const std::string measured = e.bytes_per_step > 0.0 ? number(e.bytes_per_step / 1e6) : "—";
  return fmt::format("{} ({})", measured, number(e.minimum_bytes_per_step / 1e6));
}

std::string end_to_end_text(const DeviceReport& r) {
  Table t({"norm", ">train images/s", ">eval images/s", ">train ms/step", ">min", ">max",
           ">kernel sum ms/step", ">dispatches/step", ">barriers/step", ">MB/step (minimum)",
           ">eval dispatches/batch", "check"});
  for (const EndToEnd& e : r.end_to_end) {
    if (!e.skipped.empty()) {
      t.add({e.norm, skipped(e.skipped)});
      continue;
    }
    t.add({e.norm, number(e.train_images_per_second), number(e.eval_images_per_second),
           number(e.train.median_ms / e.steps), number(e.train.min_ms / e.steps),
           number(e.train.max_ms / e.steps), e.step_kernel_ms > 0 ? number(e.step_kernel_ms) : "—",
           number(e.dispatches_per_step), number(e.barriers_per_step), megabytes(e),
           number(e.eval_dispatches_per_batch), e.check});
  }
  std::string out =
      fmt::format(
          "End to end at batch {} (a program of {} training steps, or {} eval batches, on one "
          "batch already on the device; wall clock from submit to completion, median of {} "
          "runs after one warm-up, the norms' runs interleaved; kernel sum = one training step "
          "profiled, each dispatch run "
          "alone between timestamps; MB/step = the bytes each dispatch binds, each read or "
          "written once)\n",
          r.settings.batch, r.settings.steps, r.settings.steps, r.settings.e2e_repeats) +
      t.str();
  // Where one training step's time goes, per kernel, for each norm side by side.
  std::vector<std::string> header{"kernel"};
  std::vector<std::string> order;
  for (const EndToEnd& e : r.end_to_end) {
    if (e.step_kernels.empty()) continue;
    header.push_back(">" + e.norm + " dispatches");
    header.push_back(">" + e.norm + " ms");
    header.push_back(">" + e.norm + " MB");
    for (const auto& k : e.step_kernels) {
      if (std::find(order.begin(), order.end(), k.kernel) == order.end()) order.push_back(k.kernel);
    }
  }
  // The parallelism bar of issue "Fast on real GPUs", over the whole step as it is recorded.
  for (const EndToEnd& e : r.end_to_end) {
    if (e.step_dispatches.empty()) continue;
    size_t heavy = 0, wide = 0;
    const EndToEnd::StepDispatch* longest = nullptr;
    for (const auto& d : e.step_dispatches) {
      if (longest == nullptr || d.serial_macs > longest->serial_macs) longest = &d;
      if (2.0 * d.macs < 1e6) continue;
      ++heavy;
      if (d.invocations >= 16384) ++wide;
    }
    out += fmt::format(
        "Parallelism of the {} step: {} of its {} dispatches do >= 1 MFLOP, {} of those launch "
        ">= 16,384 invocations; the longest chain one invocation runs: {} MACs ({}, {} "
        "invocations)\n",
        e.norm, heavy, e.step_dispatches.size(), wide, number(longest->serial_macs), longest->label,
        longest->invocations);
  }
  if (order.empty()) return out;
  Table k(header);
  for (const std::string& name : order) {
    std::vector<std::string> row{name};
    for (const EndToEnd& e : r.end_to_end) {
      if (e.step_kernels.empty()) continue;
      const auto it = std::find_if(e.step_kernels.begin(), e.step_kernels.end(),
                                   [&](const auto& x) { return x.kernel == name; });
      row.push_back(it == e.step_kernels.end() ? "—" : std::to_string(it->dispatches));
      row.push_back(it == e.step_kernels.end() ? "—" : number(it->ms));
      row.push_back(it == e.step_kernels.end() || it->bytes <= 0.0 ? "—" : number(it->bytes / 1e6));
    }
    k.add(row);
  }
  return out +
         "\nOne training step profiled, per kernel (dispatches, summed median ms, and MB bound)\n" +
         k.str();
}

std::string pipelines_text(const DeviceReport& r) {
  if (!r.pipelines) return "";
  const PipelineTimes& p = *r.pipelines;
  if (!p.skipped.empty())
    return fmt::format("Pipeline creation ({}): skipped: {}\n", p.model, p.skipped);
  return fmt::format(
      "Pipeline creation ({}): {} pipelines, cold {:.2f} s, warm {}{}\n  {}\n", p.model, p.kernels,
      p.cold_seconds,
      p.warm_skipped.empty() ? fmt::format("{:.2f} s", p.warm_seconds) : skipped(p.warm_skipped),
      p.first_dispatch_seconds >= 0.0
          ? fmt::format("; every kernel's first dispatch {:.2f} s", p.first_dispatch_seconds)
          : "",
      p.note);
}

}  // namespace

// The headline, before the detail: the ceilings in one line, then per norm the training and eval
// images/s with the step's dispatches and MB, and whether every check passed.
std::string summary_text(const DeviceReport& r) {
  std::string out = "Summary";
  std::string ceilings;
  for (const Ceiling& c : r.ceilings) {
    if (!c.skipped.empty() || c.check != "ok") continue;
    ceilings +=
        fmt::format("{}{} {} {}", ceilings.empty() ? "" : ", ", c.name, number(c.value), c.unit);
  }
  if (!ceilings.empty()) out += "\n  ceilings: " + ceilings;
  for (const EndToEnd& e : r.end_to_end) {
    if (!e.skipped.empty()) {
      out += fmt::format("\n  {}: {}", e.norm, skipped(e.skipped));
      continue;
    }
    out += fmt::format(
        "\n  {}: train {} images/s, eval {} images/s at batch {} ({} dispatches, {} MB per "
        "training step)",
        e.norm, number(e.train_images_per_second), number(e.eval_images_per_second), e.batch,
        number(e.dispatches_per_step),
        e.bytes_per_step > 0 ? number(e.bytes_per_step / 1e6) : std::string("—"));
  }
  const auto failures = r.failures();
  out += failures.empty()
             ? "\n  every check passed (the kernels and the end to end against the "
               "CPU reference)\n"
             : fmt::format("\n  {} checks FAILED (listed at the end)\n", failures.size());
  return out;
}

std::string report_text(const DeviceReport& r) {
  std::string out = provenance_text(r);
  if (!r.skipped.empty()) return out + "skipped: " + r.skipped + "\n";
  out += "\n" + summary_text(r);
  if (!r.ceilings.empty()) out += "\n" + ceilings_text(r);
  if (!r.kernels.empty()) out += "\n" + kernels_text(r);
  if (!r.end_to_end.empty()) out += "\n" + end_to_end_text(r);
  const std::string pipelines = pipelines_text(r);
  if (!pipelines.empty()) out += "\n" + pipelines;
  for (const std::string& f : r.failures()) out += "FAILED check: " + f + "\n";
  return out;
}

}  // namespace vkbench
