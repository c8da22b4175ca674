// The side-by-side table of several reports.
#include "apps/vkbench/compare.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>

#include "apps/vkbench/table.hpp"

namespace vkbench {

namespace {

constexpr const char* kMissing = "—";

using Cell = std::function<std::string(const DeviceReport&)>;

std::string ceiling_cell(const DeviceReport& r, const std::string& name) {
  if (!r.skipped.empty()) return "skipped: " + r.skipped;
  const Ceiling* c = r.ceiling(name);
  if (c == nullptr) return kMissing;
  if (!c->skipped.empty()) return "skipped: " + c->skipped;
  if (c->check != "ok") return "FAILED check";
  return number(c->value);
}

const EndToEnd* find_e2e(const DeviceReport& r, const std::string& norm) {
  for (const EndToEnd& e : r.end_to_end) {
    if (e.norm == norm) return &e;
  }
  return nullptr;
}

Cell e2e_cell(const std::string& norm, const std::function<double(const EndToEnd&)>& value) {
  return [norm, value](const DeviceReport& r) -> std::string {
    const EndToEnd* e = find_e2e(r, norm);
    if (e == nullptr) return kMissing;
    if (!e->skipped.empty()) return "skipped: " + e->skipped;
    if (e->check != "ok") return "FAILED check";
    const double v = value(*e);
    return v > 0.0 ? number(v) : kMissing;
  };
}

// Where a kernel comes in the training step (unknown kernels last, in order of appearance).
size_t step_position(const std::string& key) {
  // "conv2d_backward" places older reports' _input, _weight and _weight_reduce kernels too;
  // "sgd_update" sgd_update_segments.
  static const char* const kOrder[] = {
      "conv2d_forward", "conv2d_backward", "batchnorm",      "groupnorm",       "norm_",
      "dropout",        "maxpool2d",       "avgpool_global", "log_softmax_nll", "sgd_update"};
  size_t best = std::size(kOrder);
  for (size_t i = 0; i < std::size(kOrder); ++i) {
    if (key.rfind(kOrder[i], 0) == 0) return i;
  }
  return best;
}

// The sum of the medians of the rows `pick` selects: "—" if none, the reason if one was not timed.
std::string sum_cell(const DeviceReport& r, const std::function<bool(const KernelRow&)>& pick) {
  double sum = 0.0;
  bool any = false;
  for (const KernelRow& k : r.kernels) {
    if (!pick(k)) continue;
    if (!k.skipped.empty()) return "skipped: " + k.skipped;
    if (k.check != "ok") return std::string("FAILED check");
    sum += k.time.median_ms;
    any = true;
  }
  return any ? number(sum) : std::string(kMissing);
}

std::string kernel_key(const KernelRow& k) {
  return k.norm.empty() ? k.kernel : fmt::format("{} ({})", k.kernel, k.norm);
}

}  // namespace

std::string compare_text(const std::vector<NamedReport>& reports, bool brief) {
  std::vector<std::string> header = {"measure"};
  for (size_t i = 0; i < reports.size(); ++i) {
    header.push_back(fmt::format(">[{}] {}", i + 1, reports[i].report.device.name));
  }
  Table t(header);
  auto row = [&](const std::string& label, const Cell& cell) {
    std::vector<std::string> cells = {label};
    for (const NamedReport& n : reports) cells.push_back(cell(n.report));
    t.add(cells);
  };
  auto section = [&](const std::string& title) { t.add({"**" + title + "**"}); };
  auto text = [](const std::string& s) { return s.empty() ? std::string(kMissing) : s; };

  section("device");
  std::vector<std::string> files = {"file"};
  for (const NamedReport& n : reports)
    files.push_back(std::filesystem::path(n.file).filename().string());
  t.add(files);
  row("vendor, type", [&](const DeviceReport& r) {
    return text(r.device.vendor + (r.device.type.empty() ? "" : ", " + r.device.type));
  });
  row("driver", [&](const DeviceReport& r) {
    return text(r.device.driver_name +
                (r.device.driver_info.empty() ? "" : " " + r.device.driver_info));
  });
  row("Vulkan", [&](const DeviceReport& r) { return text(r.device.api_version); });
  row("subgroup size", [](const DeviceReport& r) {
    if (r.device.subgroup_size == 0) return std::string(kMissing);
    std::string s = r.device.subgroup_size_control && r.device.subgroup_min != r.device.subgroup_max
                        ? fmt::format("{} ({}..{})", r.device.subgroup_size, r.device.subgroup_min,
                                      r.device.subgroup_max)
                        : fmt::format("{}", r.device.subgroup_size);
    return r.device.subgroup_ops_used ? s : s + ", ops off";
  });
  row("kernels", [&](const DeviceReport& r) { return text(r.device.kernels); });
  row("host CPU", [&](const DeviceReport& r) { return text(r.host.cpu); });
  row("host load average at the start",
      [&](const DeviceReport& r) { return text(r.host.load_average); });
  row("batch", [](const DeviceReport& r) {
    if (r.settings.batch > 0) return fmt::format("{}", r.settings.batch);
    return r.end_to_end.empty() ? std::string(kMissing) : fmt::format("{}", r.end_to_end[0].batch);
  });

  section("ceilings");
  row("FMA scalar, GFLOP/s", [](const DeviceReport& r) { return ceiling_cell(r, "fma_scalar"); });
  row("FMA vec4, GFLOP/s", [](const DeviceReport& r) { return ceiling_cell(r, "fma_vec4"); });
  row("copy (shader), GB/s read + write",
      [](const DeviceReport& r) { return ceiling_cell(r, "copy_shader"); });
  row("copy (shader, texel-buffer reads), GB/s read + write",
      [](const DeviceReport& r) { return ceiling_cell(r, "copy_texel"); });
  row("copy (vkCmdCopyBuffer), GB/s read + write",
      [](const DeviceReport& r) { return ceiling_cell(r, "copy_transfer"); });

  std::vector<std::string> norms;
  for (const NamedReport& n : reports) {
    for (const EndToEnd& e : n.report.end_to_end) {
      if (std::find(norms.begin(), norms.end(), e.norm) == norms.end()) norms.push_back(e.norm);
    }
  }
  section("end to end");
  for (const std::string& norm : norms) {
    row("train images/s, " + norm,
        e2e_cell(norm, [](const EndToEnd& e) { return e.train_images_per_second; }));
  }
  for (const std::string& norm : norms) {
    row("eval images/s, " + norm,
        e2e_cell(norm, [](const EndToEnd& e) { return e.eval_images_per_second; }));
  }
  for (const std::string& norm : norms) {
    row("dispatches / barriers per step, " + norm, [norm](const DeviceReport& r) {
      const EndToEnd* e = find_e2e(r, norm);
      if (e == nullptr || !e->skipped.empty() || e->dispatches_per_step <= 0)
        return std::string(kMissing);
      return fmt::format("{} / {}", number(e->dispatches_per_step), number(e->barriers_per_step));
    });
  }
  for (const std::string& norm : norms) {
    row("MB moved per step (minimum), " + norm, [norm](const DeviceReport& r) {
      const EndToEnd* e = find_e2e(r, norm);
      if (e == nullptr || !e->skipped.empty() || e->bytes_per_step <= 0)
        return std::string(kMissing);
      return fmt::format("{} ({})", number(e->bytes_per_step / 1e6),
                         number(e->minimum_bytes_per_step / 1e6));
    });
  }
  row("pipeline creation cold / warm, s", [](const DeviceReport& r) {
    if (!r.pipelines) return std::string(kMissing);
    const PipelineTimes& p = *r.pipelines;
    if (!p.skipped.empty()) return "skipped: " + p.skipped;
    return fmt::format("{:.2f} / {}", p.cold_seconds,
                       p.warm_skipped.empty() ? fmt::format("{:.2f}", p.warm_seconds)
                                              : "skipped: " + p.warm_skipped);
  });
  row("every kernel's first dispatch (compiles there: lavapipe), s", [](const DeviceReport& r) {
    if (!r.pipelines || !r.pipelines->skipped.empty() || r.pipelines->first_dispatch_seconds < 0.0)
      return std::string(kMissing);
    return fmt::format("{:.2f}", r.pipelines->first_dispatch_seconds);
  });

  // Kernel medians summed over the step's layers, per kernel (norm kernels per norm), in the
  // order of the step; then the whole step per norm.
  std::vector<std::string> kernels;
  for (const NamedReport& n : reports) {
    for (const KernelRow& k : n.report.kernels) {
      if (std::find(kernels.begin(), kernels.end(), kernel_key(k)) == kernels.end())
        kernels.push_back(kernel_key(k));
    }
  }
  std::stable_sort(kernels.begin(), kernels.end(), [](const std::string& a, const std::string& b) {
    return step_position(a) < step_position(b);
  });
  // --brief: the training step itself, profiled (each dispatch timed alone), per norm; reports
  // written before that existed have only the kernel table below.
  if (brief) {
    const auto step_cell = [](const std::string& norm,
                              const std::function<bool(const std::string&)>& pick) {
      return [norm, pick](const DeviceReport& r) {
        const EndToEnd* e = find_e2e(r, norm);
        if (e == nullptr || !e->skipped.empty() || e->step_kernels.empty())
          return std::string(kMissing);
        double sum = 0.0;
        for (const auto& k : e->step_kernels) sum += pick(k.kernel) ? k.ms : 0.0;
        return number(sum);
      };
    };
    const auto is_conv = [](const std::string& k) { return k.rfind("conv2d_", 0) == 0; };
    const auto is_norm = [](const std::string& k) { return k.find("norm") != std::string::npos; };
    section("the training step profiled, ms (each dispatch timed alone)");
    for (const std::string& norm : norms) {
      row("convolutions (with the fused norm prologues and epilogues), " + norm,
          step_cell(norm, is_conv));
      row("norm passes of their own (statistics, finalize, backward), " + norm,
          step_cell(norm, is_norm));
      row("pooling, loss, SGD, " + norm,
          step_cell(norm, [&](const std::string& k) { return !is_conv(k) && !is_norm(k); }));
      row("all kernels of the step, " + norm,
          step_cell(norm, [](const std::string&) { return true; }));
    }
    section("kernel table: each op alone, ms per training step (unfused)");
  } else if (!kernels.empty()) {
    section("kernels, ms per training step");
  }
  if (brief) {
    row("convolutions (forward and backward)", [](const DeviceReport& r) {
      return sum_cell(r, [](const KernelRow& k) { return k.kernel.rfind("conv2d_", 0) == 0; });
    });
    for (const std::string& norm : norms) {
      row("norm + ReLU + dropout, " + norm, [norm](const DeviceReport& r) {
        return sum_cell(r, [&](const KernelRow& k) { return k.norm == norm; });
      });
    }
    row("pooling, loss, SGD (newer reports: with the conv weight-gradient sums; older: dropout)",
        [](const DeviceReport& r) {
          return sum_cell(r, [](const KernelRow& k) {
            return k.norm.empty() && k.kernel.rfind("conv2d_", 0) != 0;
          });
        });
  } else {
    for (const std::string& key : kernels) {
      row(key, [key](const DeviceReport& r) {
        return sum_cell(r, [&](const KernelRow& k) { return kernel_key(k) == key; });
      });
    }
  }
  for (const std::string& norm : norms) {
    row("all ops alone, " + norm, [norm](const DeviceReport& r) {
      return sum_cell(r, [&](const KernelRow& k) { return k.norm.empty() || k.norm == norm; });
    });
  }
  std::string legend;
  for (size_t i = 0; i < reports.size(); ++i) {
    const DeviceReport& r = reports[i].report;
    legend += fmt::format("[{}] {}: {}{}\n", i + 1, reports[i].file, r.device.name,
                          r.date.empty() ? "" : ", measured " + r.date);
  }
  // Images/s and per-step figures depend on the batch: say so when the files differ in it.
  std::vector<uint32_t> batches;
  for (const NamedReport& n : reports) {
    const DeviceReport& r = n.report;
    const uint32_t b = r.settings.batch > 0    ? r.settings.batch
                       : !r.end_to_end.empty() ? r.end_to_end[0].batch
                                               : 0;
    if (b > 0 && std::find(batches.begin(), batches.end(), b) == batches.end())
      batches.push_back(b);
  }
  std::string warning;
  if (batches.size() > 1) {
    std::string list;
    for (uint32_t b : batches) list += (list.empty() ? "" : ", ") + std::to_string(b);
    warning = fmt::format(
        "Warning: these files were measured at different batch sizes ({}): their images/s and "
        "per-step figures do not compare across them.\n\n",
        list);
  }
  return warning + t.str() + "\n" + legend;
}

}  // namespace vkbench
