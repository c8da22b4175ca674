// The tables and figure of `vkmnist sweep`: one row per variant (norm, L1, L2, batch size), its
// seeds' best and final test accuracies as mean ± standard deviation, the epoch of the best, and
// a sentence from the numbers on whether the best variant's lead exceeds the spread over seeds.
// sweep.csv (for loading elsewhere), sweep.md (to read) and sweep.png (best test accuracy against
// batch size, one line per norm, error bars of one standard deviation).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vkmnist {

struct SweepRun {  // one seed's run, as read from its folder
  uint32_t seed = 0;
  double best_test_accuracy = 0.0;  // percent
  uint32_t best_epoch = 0;
  double final_test_accuracy = 0.0;
  double seconds_per_epoch = 0.0;
};

struct SweepVariant {
  std::string norm;  // bn, ln, gn, in
  double l1 = 0.0;
  double l2 = 0.0;
  uint32_t batch_size = 128;
  double lr = 0.0;
  std::vector<SweepRun> runs;  // one per seed

  std::string name() const;   // the folder: bn_l1-0.0001_l2-0_b128
  std::string label() const;  // for the figure's legend: "bn, L1 1e-4" (what varies besides batch)
};

// Mean and sample standard deviation (n - 1; 0 for fewer than two values).
struct Spread {
  double mean = 0.0;
  double sd = 0.0;
};
Spread spread(const std::vector<double>& values);

// The sentence on the best two variants by mean best test accuracy, or "" for fewer than two
// variants.
std::string sweep_finding(const std::vector<SweepVariant>& variants);

// sweep.csv, sweep.md and sweep.png in `folder`. command: the command line that reproduces it;
// data: a sentence on the data used.
void write_sweep(const std::filesystem::path& folder, const std::vector<SweepVariant>& variants,
                 const std::string& command, const std::string& data);

}  // namespace vkmnist
