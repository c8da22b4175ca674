// Plain loops over [N, C, H, W]; the spec the segment_stats shaders are tested against.
#include "nn/reference/segment_stats.hpp"

#include <stdexcept>

namespace vkm::nn::reference {

std::vector<SumSumSq> channel_sum_sumsq(std::span<const float> x, const Shape& s) {
  if (x.size() != s.numel()) throw std::invalid_argument("channel_sum_sumsq: size does not match shape");
  std::vector<SumSumSq> out(s.c);
  for (uint32_t n = 0; n < s.n; ++n) {
    for (uint32_t c = 0; c < s.c; ++c) {
      const float* plane = x.data() + (size_t{n} * s.c + c) * s.plane();
      for (size_t i = 0; i < s.plane(); ++i) {
        out[c].sum += plane[i];
        out[c].sum_sq += double{plane[i]} * plane[i];
      }
    }
  }
  return out;
}

std::vector<SumSumSq> group_sum_sumsq(std::span<const float> x, const Shape& s, uint32_t groups) {
  if (x.size() != s.numel()) throw std::invalid_argument("group_sum_sumsq: size does not match shape");
  if (groups == 0 || s.c % groups != 0) throw std::invalid_argument("group_sum_sumsq: groups must divide C");
  const size_t group_size = size_t{s.c / groups} * s.plane();
  std::vector<SumSumSq> out(size_t{s.n} * groups);
  for (size_t g = 0; g < out.size(); ++g) {
    const float* v = x.data() + g * group_size;  // groups are contiguous in NCHW
    for (size_t i = 0; i < group_size; ++i) {
      out[g].sum += v[i];
      out[g].sum_sq += double{v[i]} * v[i];
    }
  }
  return out;
}

}  // namespace vkm::nn::reference
