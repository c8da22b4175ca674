// NormStats: the bindings of shaders/common/norm_finalize.glsl.
#include "nn/layers/norm_stats.hpp"

#include "engine/error.hpp"

namespace vkm::nn {
namespace {

void require(const Buffer* b, const char* what) {
  if (b == nullptr) throw Error(std::string("norm statistics without their ") + what);
}

}  // namespace

void NormStats::add_forward_bindings(std::vector<Binding>& bindings) const {
  for (const auto& [b, what] : {std::pair{partials, "partials"},
                                {forward_counter, "counter"},
                                {params, "parameters"},
                                {mean, "mean"},
                                {invstd, "invstd"},
                                {running_mean, "running mean"},
                                {running_var, "running var"}}) {
    require(b, what);
  }
  bindings.push_back(reads_writes(*partials));
  bindings.push_back(reads_writes(*forward_counter));
  bindings.push_back(reads(*params));
  bindings.push_back(writes(*mean));
  bindings.push_back(writes(*invstd));
  bindings.push_back(reads_writes(*running_mean));
  bindings.push_back(reads_writes(*running_var));
}

void NormStats::add_backward_bindings(std::vector<Binding>& bindings) const {
  for (const auto& [b, what] : {std::pair{partials, "partials"},
                                {backward_counter, "counter"},
                                {params, "parameters"},
                                {mean, "mean"},
                                {invstd, "invstd"},
                                {gamma, "gamma"},
                                {dgamma, "dgamma"},
                                {dbeta, "dbeta"},
                                {coef, "coefficients"}}) {
    require(b, what);
  }
  bindings.push_back(reads_writes(*partials));
  bindings.push_back(reads_writes(*backward_counter));
  bindings.push_back(reads(*params));
  bindings.push_back(reads(*mean));
  bindings.push_back(reads(*invstd));
  bindings.push_back(reads(*gamma));
  bindings.push_back(writes(*dgamma));
  bindings.push_back(writes(*dbeta));
  bindings.push_back(writes(*coef));
}

void add_forward_stats_bindings(std::vector<Binding>& bindings, const NormStats* stats,
                                const Buffer& unused) {
  if (stats != nullptr && stats->present()) return stats->add_forward_bindings(bindings);
  for (int i = 0; i < 7; ++i) bindings.push_back(reads(unused));
}

void add_backward_stats_bindings(std::vector<Binding>& bindings, const NormStats* stats,
                                 const Buffer& unused) {
  if (stats != nullptr && stats->present()) return stats->add_backward_bindings(bindings);
  for (int i = 0; i < 9; ++i) bindings.push_back(reads(unused));
}

}  // namespace vkm::nn
