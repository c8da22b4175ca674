// A norm's statistics as the kernel that writes their per-plane parts finishes them
// (shaders/common/norm_finalize.glsl): its last workgroup to finish merges every plane's part into
// the statistics (forward: mean, invstd and BatchNorm's running estimates; backward: dgamma,
// dbeta and the dx coefficients), so neither direction needs a finalize dispatch. A norm layer
// describes its buffers with one of these (BatchNorm2d::stats, GroupNorm::stats); a producer
// (Conv2d, the norm's own statistics and sums passes) appends them to its bindings.
#pragma once

#include <vector>

#include "engine/graph.hpp"
#include "engine/memory.hpp"

namespace vkm::nn {

struct NormStats {
  const Buffer* partials = nullptr;          // vec2 [N, C]: per-plane statistics, then sums
  const Buffer* forward_counter = nullptr;   // uint: workgroups done; zero between dispatches
  const Buffer* backward_counter = nullptr;  // uint, the same for the backward sums
  const Buffer* params = nullptr;            // the norm's NormApplyParams (training)
  const Buffer* mean = nullptr;              // [statistics]
  const Buffer* invstd = nullptr;            // [statistics]
  const Buffer* running_mean = nullptr;      // [C] (BatchNorm; a placeholder otherwise)
  const Buffer* running_var = nullptr;
  const Buffer* gamma = nullptr;   // [C] (placeholders without affine)
  const Buffer* dgamma = nullptr;  // [C]
  const Buffer* dbeta = nullptr;   // [C]
  const Buffer* coef = nullptr;    // vec4 [statistics]: dx coefficients

  bool present() const { return partials != nullptr; }
  // The seven bindings from NF_BINDING: partials, counter, params, mean, invstd, running mean
  // and variance.
  void add_forward_bindings(std::vector<Binding>& bindings) const;
  // The nine bindings from NB_BINDING: partials, counter, params, mean, invstd, gamma, dgamma,
  // dbeta, coef.
  void add_backward_bindings(std::vector<Binding>& bindings) const;
};

// `stats`'s forward (backward) bindings, or `unused` in each place where it is null or absent (a
// kernel that declares them but finishes no statistics).
void add_forward_stats_bindings(std::vector<Binding>& bindings, const NormStats* stats,
                                const Buffer& unused);
void add_backward_stats_bindings(std::vector<Binding>& bindings, const NormStats* stats,
                                 const Buffer& unused);

}  // namespace vkm::nn
