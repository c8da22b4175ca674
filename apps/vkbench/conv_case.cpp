// The kernel-table case of a convolution: forward, and backward to the input and to the weight
// as the training step records it, one dispatch or two (Conv2d::splits_backward; the weight
// gradient as per-lane partial sums: the training step adds them up in its single update dispatch,
// timed in the update's row; here the host adds them for the check), checked against
// nn/reference/conv2d in double. Where a norm follows, the forward also writes its plane statistics
// and finishes them into the norm's, as in the training step (checked: the means and M2 of the
// reference output).
#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "apps/vkbench/kernel_case.hpp"
#include "apps/vkbench/kernel_cases.hpp"
#include "nn/layers/batchnorm2d.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/reference/conv2d.hpp"
#include "nn/tensor.hpp"

namespace vkbench {

std::vector<KernelRow> conv_case(const BenchContext& ctx, const nn::BlockSpec& spec, nn::Shape in,
                                 bool first, nn::WeightPartials& partials) {
  vkm::Device& device = ctx.device;
  nn::Conv2d conv(device, ctx.kernels, spec.name, in, spec.c_out, spec.k, 0);
  partials = conv.weight_partials();
  const nn::Shape out = conv.output_shape();
  nn::Tensor x(device, in, "x"), y(device, out, "y"), dy(device, out, "dy"), dx(device, in, "dx");
  const auto xv = random_floats(in.numel(), -1.0f, 1.0f, 1);
  const auto dyv = random_floats(out.numel(), -1.0f, 1.0f, 2);
  const float bound = 1.0f / std::sqrt(static_cast<float>(in.c * spec.k * spec.k));
  const auto wv = random_floats(conv.weight().value.numel(), -bound, bound, 3);
  x.upload(xv);
  dy.upload(dyv);
  conv.weight().value.upload(wv);
  for (const nn::Tensor* t : {&y, &dx}) t->fill(NAN);       // unwritten fails
  device.fill(conv.weight_partials_buffer(), 0x7fc00000u);  // NaN

  const size_t planes = size_t{out.n} * out.c;
  std::optional<nn::BatchNorm2d> norm;  // whose statistics the forward writes and finishes
  if (spec.norm) norm.emplace(device, ctx.kernels, spec.norm_name(), out, true, false);
  const nn::NormStats stats = norm ? norm->stats() : nn::NormStats{};
  vkm::Graph graph;
  conv.record_forward(graph, x, y, in.n, &stats);
  conv.record_backward(graph, x, dy, first ? nullptr : &dx, in.n, /*reduce_weight=*/false);

  const nn::reference::Conv2dGeometry g{in.n, in.c, in.h, in.w, spec.c_out, spec.k, 0};
  const double macs = double(out.numel()) * in.c * spec.k * spec.k;
  const auto rows =
      rows_per_node(graph, {{"conv2d_forward", 2 * macs},
                            {"conv2d_backward", (first || conv.splits_backward() ? 2 : 4) * macs},
                            {"conv2d_backward_weight", 2 * macs},
                            // The GPU shape (VKMNIST_KERNELS=gpu): dx and dw each apart.
                            {"conv2d_forward_gpu", 2 * macs},
                            {"conv2d_backward_gpu", 2 * macs},
                            {"conv2d_backward_weight_gpu", 2 * macs}});
  auto check = [&](Checker& checker) {
    const auto x64 = widen(xv), dy64 = widen(dyv), w64 = widen(wv);
    std::vector<double> want(out.numel());
    nn::reference::conv2d_forward<double>(g, x64, w64, want);
    checker.compare("y", y.download(), want);
    if (spec.norm) {
      const auto want_stats = plane_statistics<double>(want, size_t{out.h} * out.w);
      std::vector<float> got_stats(planes * 2);
      device.download(norm->statistics(), std::as_writable_bytes(std::span(got_stats)));
      checker.compare("plane statistics", got_stats, want_stats);
    }
    if (!first) {
      want.assign(in.numel(), 0.0);
      nn::reference::conv2d_backward_input<double>(g, dy64, w64, want);
      checker.compare("dx", dx.download(), want);
    }
    want.assign(wv.size(), 0.0);
    nn::reference::conv2d_backward_weight<double>(g, x64, dy64, want);
    const nn::WeightPartials& w = partials;
    std::vector<float> sums(w.bytes / sizeof(float)), dweight(wv.size());
    device.download(conv.weight_partials_buffer(), std::as_writable_bytes(std::span(sums)));
    for (size_t i = 0; i < dweight.size(); ++i) dweight[i] = w.sum(sums, i);
    checker.compare("dweight (partial sums added)", dweight, want);
  };
  return run_case(ctx, {spec.name, "", in.str()}, graph, rows, check);
}

}  // namespace vkbench
