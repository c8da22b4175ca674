// The kernel-table cases of the small ops: max pooling, global average pooling, the
// log-softmax + NLL loss and the SGD update, each checked against nn/reference in double.
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "apps/vkbench/kernel_case.hpp"
#include "apps/vkbench/kernel_cases.hpp"
#include "nn/layers/loss.hpp"
#include "nn/layers/pool.hpp"
#include "nn/layers/sgd.hpp"
#include "nn/parameter.hpp"
#include "nn/reference/loss.hpp"
#include "nn/reference/pool.hpp"
#include "nn/reference/sgd.hpp"
#include "nn/tensor.hpp"

namespace vkbench {

namespace {

using Vec = std::vector<double>;

}  // namespace

std::vector<KernelRow> maxpool_case(const BenchContext& ctx, const std::string& layer,
                                    nn::Shape s) {
  vkm::Device& device = ctx.device;
  nn::MaxPool2d pool(ctx.kernels, s);
  const nn::Shape o = pool.output_shape();
  nn::Tensor x(device, s, "x"), y(device, o, "y"), dy(device, o, "dy"), dx(device, s, "dx");
  const auto xv = random_floats(s.numel(), -1.0f, 1.0f, 31);
  const auto dyv = random_floats(o.numel(), -1.0f, 1.0f, 32);
  x.upload(xv);
  dy.upload(dyv);
  y.fill(NAN);
  dx.fill(NAN);
  vkm::Graph graph;
  pool.record_forward(graph, x, y, s.n);
  pool.record_backward(graph, x, dy, dx, s.n);
  const double windows = double(o.numel());  // three comparisons per 2x2 window
  const auto rows = rows_per_node(
      graph, {{"maxpool2d_forward", 3 * windows}, {"maxpool2d_backward", 3 * windows}});
  auto check = [&](Checker& checker) {
    const Vec x64 = widen(xv);
    Vec want(o.numel());
    nn::reference::maxpool2d_forward<double>(s, x64, want);
    checker.compare("y", y.download(), want);
    want.assign(s.numel(), 0.0);
    nn::reference::maxpool2d_backward<double>(s, x64, widen(dyv), want);
    checker.compare("dx", dx.download(), want);
  };
  return run_case(ctx, {layer, "", s.str()}, graph, rows, check);
}

std::vector<KernelRow> avgpool_case(const BenchContext& ctx, const std::string& layer,
                                    nn::Shape s) {
  vkm::Device& device = ctx.device;
  nn::AvgPoolGlobal pool(ctx.kernels, s);
  const nn::Shape o = pool.output_shape();
  nn::Tensor x(device, s, "x"), y(device, o, "y"), dy(device, o, "dy"), dx(device, s, "dx");
  const auto xv = random_floats(s.numel(), -1.0f, 1.0f, 41);
  const auto dyv = random_floats(o.numel(), -1.0f, 1.0f, 42);
  x.upload(xv);
  dy.upload(dyv);
  y.fill(NAN);
  dx.fill(NAN);
  vkm::Graph graph;
  pool.record_forward(graph, x, y, s.n);
  pool.record_backward(graph, x, dy, dx, s.n);
  const double e = double(s.numel()), planes = double(o.numel());
  const auto rows = rows_per_node(
      graph, {{"avgpool_global_forward", e + planes}, {"avgpool_global_backward", e}});
  auto check = [&](Checker& checker) {
    Vec want(o.numel());
    nn::reference::avgpool_global_forward<double>(s, widen(xv), want);
    checker.compare("y", y.download(), want);
    want.assign(s.numel(), 0.0);
    nn::reference::avgpool_global_backward<double>(s, widen(dyv), want);
    checker.compare("dx", dx.download(), want);
  };
  return run_case(ctx, {layer, "", s.str()}, graph, rows, check);
}

std::vector<KernelRow> loss_case(const BenchContext& ctx, uint32_t batch, uint32_t classes) {
  vkm::Device& device = ctx.device;
  nn::LogSoftmaxNll loss(ctx.kernels, batch, classes);
  const nn::Shape s{batch, classes, 1, 1};
  nn::Tensor logits(device, s, "logits"), log_probs(device, s, "log_probs"),
      dlogits(device, s, "dlogits");
  const auto lv = random_floats(s.numel(), -3.0f, 3.0f, 51);
  const auto labels = random_labels(batch, classes, 52);
  logits.upload(lv);
  const vkm::Buffer label_buffer = upload_buffer(device, labels, "labels");
  const vkm::Buffer stats = device.buffer(2 * sizeof(float), "stats", vkm::MemoryKind::kDevice);
  const vkm::Buffer predictions = device.buffer(size_t{batch} * sizeof(uint32_t), "predictions");
  log_probs.fill(NAN);
  dlogits.fill(NAN);
  device.fill(stats, 0x7FC00000u);
  vkm::Graph graph;
  loss.record_forward(graph, logits, label_buffer, log_probs, stats, 0, predictions, 0, batch,
                      &dlogits);
  // Per value: max, subtract, exp, add, subtract (forward); exp, subtract, scale (gradient).
  const double values = double(s.numel());
  const auto rows = rows_per_node(graph, {{"log_softmax_nll_forward", 8 * values}});
  auto check = [&](Checker& checker) {
    Vec want(s.numel()), dwant(s.numel());
    uint32_t correct = 0;
    std::vector<uint32_t> want_predictions(batch);
    const double sum = nn::reference::log_softmax_nll_forward<double>(
        batch, classes, widen(lv), labels, want, &correct, want_predictions);
    nn::reference::log_softmax_nll_backward<double>(batch, classes, want, labels, dwant);
    checker.compare("log_probs", log_probs.download(), want);
    checker.compare("dlogits", dlogits.download(), dwant);
    std::vector<float> got_stats(2);
    device.download(stats, std::as_writable_bytes(std::span(got_stats)));
    checker.compare("loss sum", std::span(got_stats).first(1), Vec{sum});
    if (got_stats[1] != static_cast<float>(correct)) {
      checker.fail(fmt::format("correct count {} (reference {})", got_stats[1], correct));
    }
    std::vector<uint32_t> got_predictions(batch);
    device.download(predictions, std::as_writable_bytes(std::span(got_predictions)));
    if (got_predictions != want_predictions) checker.fail("predictions differ from the reference");
  };
  return run_case(ctx, {"loss", "", s.str()}, graph, rows, check);
}

std::vector<KernelRow> sgd_case(const BenchContext& ctx,
                                const std::vector<UpdatedParameter>& parameters) {
  vkm::Device& device = ctx.device;
  const nn::reference::SgdHyper hyper{.lr = 0.01, .momentum = 0.9, .l2 = 1e-4, .l1 = 1e-5};
  nn::Sgd sgd(ctx.kernels, static_cast<float>(hyper.momentum), static_cast<float>(hyper.l2),
              static_cast<float>(hyper.l1));
  // As nn::Model does: every parameter, gradient and velocity in one buffer each, every conv's
  // partial sums in one more, one segment per parameter, one dispatch.
  std::vector<nn::SgdSegment> segments;
  size_t values = 0, partial_floats = 0;
  uint32_t largest = 0;
  for (const UpdatedParameter& p : parameters) {
    nn::SgdSegment s{.offset = static_cast<uint32_t>(values),
                     .count = static_cast<uint32_t>(p.shape.numel())};
    if (p.partials) {
      s.take_partials(static_cast<uint32_t>(partial_floats), *p.partials);
      partial_floats += p.partials->bytes / sizeof(float);
    }
    values += s.count;
    largest = std::max(largest, s.count);
    segments.push_back(s);
  }
  const auto w = random_floats(values, -1.0f, 1.0f, 60);
  auto g = random_floats(values, -1.0f, 1.0f, 61);
  const auto v = random_floats(values, -0.1f, 0.1f, 62);
  const auto sums = random_floats(partial_floats, -1.0f, 1.0f, 63);
  const vkm::Buffer weights = upload_buffer(device, w, "parameters");
  const vkm::Buffer grads = upload_buffer(device, g, "gradients");
  const vkm::Buffer velocities = upload_buffer(device, v, "momentum");
  const vkm::Buffer partials = upload_buffer(device, sums, "weight partials");
  const vkm::Buffer table = device.buffer(segments.size() * sizeof(nn::SgdSegment), "segments");
  device.upload(table, std::as_bytes(std::span(segments)));
  const vkm::Buffer lr =
      upload_buffer(device, std::vector<float>{static_cast<float>(hyper.lr)}, "lr");
  const vkm::Buffer clock = clock_buffer(device);
  vkm::Graph graph;
  sgd.record_update(graph, weights, grads, velocities, partials, table,
                    static_cast<uint32_t>(segments.size()), largest, lr, clock, 0,
                    "sgd_update_segments");
  // Per value: g + l2 w + l1 sign(w) (4), v = m v + g (2), w -= lr v (2); one add per partial.
  RowSpec row{.kernel = "sgd_update_segments",
              .flops = 8.0 * double(values) + double(partial_floats)};
  for (size_t i = 0; i < graph.size(); ++i) row.nodes.push_back(i);
  auto check = [&](Checker& checker) {
    for (const nn::SgdSegment& s : segments) {  // the gradients the kernel adds up, in its order
      if (s.partials == nn::SgdSegment::kNoPartials) continue;
      const nn::WeightPartials layout = s.layout();
      for (uint32_t i = 0; i < s.count; ++i)
        g[s.offset + i] = layout.sum(std::span(sums).subspan(s.partials), i);
    }
    Vec w64 = widen(w), v64 = widen(v);
    nn::reference::sgd_update<double>(hyper, w64, widen(g), v64);
    std::vector<float> got_w(values), got_v(values), got_g(values);
    device.download(weights, std::as_writable_bytes(std::span(got_w)));
    device.download(velocities, std::as_writable_bytes(std::span(got_v)));
    device.download(grads, std::as_writable_bytes(std::span(got_g)));
    checker.compare("gradients (partial sums added)", got_g, widen(g));
    checker.compare("parameters", got_w, w64);
    checker.compare("velocities", got_v, v64);
  };
  return run_case(
      ctx, {fmt::format("{} parameters", parameters.size()), "", fmt::format("{} values", values)},
      graph, {row}, check);
}

}  // namespace vkbench
