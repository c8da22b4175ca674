// sweep.csv, sweep.md and sweep.png.
#include "apps/vkmnist/sweep_table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "apps/vkmnist/plots.hpp"
#include "apps/vkmnist/run_folder.hpp"

namespace vkmnist {
namespace {

// One field of every seed's run, as doubles.
template <typename T>
std::vector<double> field(const SweepVariant& v, T SweepRun::*member) {
  std::vector<double> out;
  for (const SweepRun& r : v.runs) out.push_back(static_cast<double>(r.*member));
  return out;
}

// "99.12 ± 0.05", or "99.12" for a single seed.
std::string pm(const Spread& s, size_t n) {
  return n < 2 ? fmt::format("{:.2f}", s.mean) : fmt::format("{:.2f} ± {:.2f}", s.mean, s.sd);
}

}  // namespace

std::string SweepVariant::name() const {
  return fmt::format("{}_l1-{:g}_l2-{:g}_b{}", norm, l1, l2, batch_size);
}

std::string SweepVariant::label() const {
  std::string s = norm;
  if (l1 > 0) s += fmt::format(", L1 {:g}", l1);
  if (l2 > 0) s += fmt::format(", L2 {:g}", l2);
  return s;
}

Spread spread(const std::vector<double>& values) {
  Spread s;
  if (values.empty()) return s;
  for (double v : values) s.mean += v;
  s.mean /= static_cast<double>(values.size());
  if (values.size() < 2) return s;
  double sq = 0.0;
  for (double v : values) sq += (v - s.mean) * (v - s.mean);
  s.sd = std::sqrt(sq / static_cast<double>(values.size() - 1));
  return s;
}

std::string sweep_finding(const std::vector<SweepVariant>& variants) {
  if (variants.size() < 2) return "";
  std::vector<std::pair<Spread, const SweepVariant*>> ranked;
  for (const SweepVariant& v : variants) {
    ranked.push_back({spread(field(v, &SweepRun::best_test_accuracy)), &v});
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first.mean > b.first.mean; });
  const auto& [best, first] = ranked[0];
  const auto& [next, second] = ranked[1];
  const size_t seeds = std::min(first->runs.size(), second->runs.size());
  const double lead = best.mean - next.mean;
  std::string s = fmt::format(
      "The best variant by mean best test accuracy is {} (batch {}) at {:.2f} %, {:.2f} points "
      "above the next, {} (batch {}) at {:.2f} %. ",
      first->label(), first->batch_size, best.mean, lead, second->label(), second->batch_size,
      next.mean);
  if (seeds < 2) {
    return s +
           "With one seed per variant there is no spread to judge that by: run --seeds 3 or "
           "more before reading it as a difference.";
  }
  const double noise = std::max(best.sd, next.sd);
  if (lead > 2.0 * noise) {
    return s + fmt::format(
                   "That lead is more than twice the larger standard deviation over seeds "
                   "({:.2f}): a difference the seeds support.",
                   noise);
  }
  return s + fmt::format(
                 "That lead is within twice the larger standard deviation over seeds ({:.2f}): "
                 "the seeds do not support ranking the two.",
                 noise);
}

void write_sweep(const std::filesystem::path& folder, const std::vector<SweepVariant>& variants,
                 const std::string& command, const std::string& data) {
  std::string csv =
      "norm,l1,l2,batch_size,lr,seeds,best_test_accuracy_mean,best_test_accuracy_sd,"
      "final_test_accuracy_mean,final_test_accuracy_sd,best_epoch_mean,seconds_per_epoch_mean\n";
  std::string md =
      "| norm | L1 | L2 | batch | lr | seeds | best test accuracy, % | final test accuracy, % | "
      "epoch of the best | s / epoch |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const SweepVariant& v : variants) {
    const size_t n = v.runs.size();
    const Spread best = spread(field(v, &SweepRun::best_test_accuracy));
    const Spread last = spread(field(v, &SweepRun::final_test_accuracy));
    const Spread epoch = spread(field(v, &SweepRun::best_epoch));
    const Spread seconds = spread(field(v, &SweepRun::seconds_per_epoch));
    csv += fmt::format("{},{:g},{:g},{},{:g},{},{:.4f},{:.4f},{:.4f},{:.4f},{:.2f},{:.2f}\n",
                       v.norm, v.l1, v.l2, v.batch_size, v.lr, n, best.mean, best.sd, last.mean,
                       last.sd, epoch.mean, seconds.mean);
    std::string epochs;
    for (const SweepRun& r : v.runs)
      epochs += (epochs.empty() ? "" : ", ") + std::to_string(r.best_epoch);
    md +=
        fmt::format("| {} | {:g} | {:g} | {} | {:g} | {} | {} | {} | {} | {:.1f} |\n", v.norm, v.l1,
                    v.l2, v.batch_size, v.lr, n, pm(best, n), pm(last, n), epochs, seconds.mean);
  }
  write_file_atomically(folder / "sweep.csv", csv);

  // The figure: best test accuracy against batch size, one line per norm (and L1/L2 setting).
  std::map<std::string, Curve> lines;
  std::vector<std::string> order;
  size_t seeds = 0;
  for (const SweepVariant& v : variants) {
    const std::string label = v.label();
    if (!lines.count(label)) {
      order.push_back(label);
      lines[label].label = label;
    }
    Curve& c = lines[label];
    const Spread best = spread(field(v, &SweepRun::best_test_accuracy));
    c.x.push_back(v.batch_size);
    c.y.push_back(best.mean);
    c.err.push_back(best.sd);
    seeds = std::max(seeds, v.runs.size());
  }
  Panel panel{.title = fmt::format("Best test accuracy against batch size (mean ± sd over {} "
                                   "seed{})",
                                   seeds, seeds == 1 ? "" : "s"),
              .x_label = "batch size (log scale; the norms drawn slightly apart)",
              .y_label = "best test accuracy, %",
              .log_x = true,
              .dodge = true};
  for (const std::string& label : order) {
    Curve c = lines[label];
    // In batch order, so that the line joins neighbours.
    std::vector<size_t> idx(c.x.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return c.x[a] < c.x[b]; });
    Curve sorted{c.label, {}, {}, {}};
    for (size_t i : idx) {
      sorted.x.push_back(c.x[i]);
      sorted.y.push_back(c.y[i]);
      sorted.err.push_back(c.err[i]);
    }
    panel.curves.push_back(std::move(sorted));
  }
  plot_panels(folder / "sweep.png", {panel}, 1, 1000, 700);

  const std::string finding = sweep_finding(variants);
  const std::string report = fmt::format(
      "# Sweep\n\nCommand: `{}`\n\n{}\n\nEach variant ran once per seed; ± is the standard "
      "deviation over the seeds (n - 1). A difference between two variants smaller than their "
      "spread is not a finding. The epoch of the best lists each seed's.\n\n{}\n{}{}"
      "![best test accuracy against batch size](sweep.png)\n\n[sweep.csv](sweep.csv); every "
      "run's own folder (run.json, metrics.csv, model.safetensors, best.safetensors, "
      "predictions.csv) is under the variant's name.\n",
      command, data, md, finding.empty() ? "" : "\n", finding.empty() ? "\n" : finding + "\n\n");
  write_file_atomically(folder / "sweep.md", report);
}

}  // namespace vkmnist
