// Conv2d on the device vs the CPU reference: forward, backward to the input and to the weight
// (together, and the weight alone) over awkward shapes and the seed net's layers, poisoned
// outputs, partial batches, bitwise determinism; the forward's statistics for the norm that
// follows, finished by its last workgroup. Conv2dGpuTiming.DISABLED_SeedNetForwardBackward times
// the net's nine convolutions (run it with --gtest_also_run_disabled_tests).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <memory>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/layers/batchnorm2d.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/reference/conv2d.hpp"
#include "tests/support/case_name.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/random.hpp"

namespace vkm::test {
namespace {

struct Case {
  nn::Shape input;  // max shape [N, C_in, H, W]
  uint32_t c_out, k, pad;
  uint32_t n;  // batch recorded (<= input.n)
};

std::string name(const Case& c) {
  return fmt::format("conv2d {} -> {} k{} pad{} n{}", c.input.str(), c.c_out, c.k, c.pad, c.n);
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << name(c);
}

// The first n samples of a [N, ...] tensor, and whether the rest is still all NaN (untouched).
std::vector<float> head(const std::vector<float>& all, size_t n, size_t sample) {
  return {all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n * sample)};
}
bool tail_untouched(const std::vector<float>& all, size_t n, size_t sample) {
  for (size_t i = n * sample; i < all.size(); ++i) {
    if (!std::isnan(all[i])) return false;
  }
  return true;
}

class Conv2dGpuTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(Conv2dGpuTest, MatchesReferenceAndIsBitwiseDeterministic) {
  const Case& c = GetParam();
  const std::string what = name(c);
  nn::Conv2d conv(device(), kernels(), "conv", c.input, c.c_out, c.k, c.pad);
  const nn::Shape out = conv.output_shape();
  const nn::reference::Conv2dGeometry g{c.n, c.input.c, c.input.h, c.input.w, c.c_out, c.k, c.pad};
  const uint64_t stream = c.input.numel() * 31 + c.c_out * 7 + c.k;

  const auto xs = uniform(c.input.numel(), -1.0f, 1.0f, stream);
  const auto ws = uniform(conv.weight().value.numel(), -0.5f, 0.5f, stream + 1);
  const auto dys = uniform(out.numel(), -1.0f, 1.0f, stream + 2);
  nn::Tensor x(device(), c.input, "x"), y(device(), out, "y"), dy(device(), out, "dy"),
      dx(device(), c.input, "dx");
  x.upload(xs);
  dy.upload(dys);
  conv.weight().value.upload(ws);

  Graph graph;
  conv.record_forward(graph, x, y, c.n);
  conv.record_backward(graph, x, dy, &dx, c.n);
  Program program(device(), graph);
  const auto run = [&] {
    for (const nn::Tensor* t : {&y, &dx, &conv.weight().grad}) t->fill(NAN);
    program.run();
    return std::vector<std::vector<float>>{y.download(), dx.download(),
                                           conv.weight().grad.download()};
  };
  const auto got = run();

  const size_t x_sample = c.input.sample(), y_sample = out.sample();
  std::vector<float> want_y(c.n * y_sample), want_dx(c.n * x_sample), want_dw(ws.size());
  const std::span<const float> x_head(xs.data(), c.n * x_sample),
      dy_head(dys.data(), c.n * y_sample);
  nn::reference::conv2d_forward<float>(g, x_head, ws, want_y);
  nn::reference::conv2d_backward_input<float>(g, dy_head, ws, want_dx);
  nn::reference::conv2d_backward_weight<float>(g, x_head, dy_head, want_dw);

  EXPECT_TRUE(close("forward " + what, head(got[0], c.n, y_sample), want_y, kKernelTolerance));
  EXPECT_TRUE(
      close("backward input " + what, head(got[1], c.n, x_sample), want_dx, kKernelTolerance));
  EXPECT_TRUE(close("backward weight " + what, got[2], want_dw, kKernelTolerance));
  EXPECT_TRUE(tail_untouched(got[0], c.n, y_sample)) << what << ": forward wrote samples >= n";
  EXPECT_TRUE(tail_untouched(got[1], c.n, x_sample))
      << what << ": backward input wrote samples >= n";

  const auto again = run();
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(bitwise_equal(fmt::format("rerun output {} {}", i, what), got[i], again[i]));
  }

  // The weight gradient alone (no dx: the net's first conv): the same sums bit for bit.
  Graph weight_only;
  conv.record_backward(weight_only, x, dy, nullptr, c.n);
  Program weight_program(device(), weight_only);
  conv.weight().grad.fill(NAN);
  dx.fill(NAN);
  weight_program.run();
  EXPECT_TRUE(
      bitwise_equal("weight gradient without dx " + what, conv.weight().grad.download(), got[2]));
  EXPECT_TRUE(tail_untouched(dx.download(), 0, x_sample)) << what << ": dx written without dx";

  // The forward that also writes each plane's (mean, M2) for the norm that follows and finishes
  // them into that norm's statistics (its last workgroup): the same y bit for bit, statistics
  // that are y's own (computed here in double), none past n, and BatchNorm's running estimates
  // moved by the batch's channel means and unbiased variances, once per run (the workgroup
  // counter is back at zero after each).
  const size_t planes = size_t{c.input.n} * c.c_out;
  const nn::BatchNorm2d norm(device(), kernels(), "norm", out, /*affine=*/false, /*relu=*/false);
  const nn::NormStats norm_stats = norm.stats();
  device().fill(norm.statistics(), 0x7FC00000u);
  y.fill(NAN);
  Graph with_stats;
  conv.record_forward(with_stats, x, y, c.n, &norm_stats);
  Program stats_program(device(), with_stats);
  stats_program.run();
  EXPECT_TRUE(bitwise_equal("forward with statistics " + what, y.download(), got[0]));
  std::vector<float> got_stats(planes * 2);
  device().download(norm.statistics(), std::as_writable_bytes(std::span(got_stats)));
  // Errors measured against the plane's scale sqrt(M2 / count + mean^2): a mean near zero is as
  // precise as its plane's values allow, not relative to itself.
  const size_t plane = size_t{out.h} * out.w;
  double worst_mean = 0.0, worst_m2 = 0.0;
  for (size_t q = 0; q < size_t{c.n} * c.c_out; ++q) {
    double mean = 0.0, m2 = 0.0;
    for (size_t i = 0; i < plane; ++i) mean += got[0][q * plane + i];
    mean /= static_cast<double>(plane);
    for (size_t i = 0; i < plane; ++i) {
      m2 += (got[0][q * plane + i] - mean) * (got[0][q * plane + i] - mean);
    }
    const double scale = std::sqrt(m2 / static_cast<double>(plane) + mean * mean) + 1e-30;
    worst_mean = std::max(worst_mean, std::abs(got_stats[2 * q] - mean) / scale);
    worst_m2 = std::max(worst_m2, std::abs(got_stats[2 * q + 1] - m2) /
                                      (m2 + static_cast<double>(plane) * scale * scale * 1e-7));
  }
  EXPECT_LE(worst_mean, 1e-5) << what << ": plane mean error relative to the plane's scale";
  EXPECT_LE(worst_m2, 1e-5) << what << ": plane M2 relative error " << worst_m2 << ", mean "
                            << worst_mean;
  EXPECT_TRUE(tail_untouched(got_stats, c.n, 2 * c.c_out)) << what << ": statistics past n written";

  // Each channel's mean and biased variance over the n samples, in double.
  std::vector<double> channel_mean(c.c_out), channel_var(c.c_out);
  const double count = static_cast<double>(c.n) * static_cast<double>(plane);
  for (uint32_t o = 0; o < c.c_out; ++o) {
    double sum = 0.0, squares = 0.0;
    for (size_t s = 0; s < c.n; ++s) {
      for (size_t i = 0; i < plane; ++i) sum += got[0][(s * c.c_out + o) * plane + i];
    }
    channel_mean[o] = sum / count;
    for (size_t s = 0; s < c.n; ++s) {
      for (size_t i = 0; i < plane; ++i) {
        const double d = got[0][(s * c.c_out + o) * plane + i] - channel_mean[o];
        squares += d * d;
      }
    }
    channel_var[o] = squares / count;
  }
  // After r runs from (0, 1): mean (1 - 0.9^r) m, variance 0.9^r + (1 - 0.9^r) v_unbiased.
  for (int runs = 1; runs <= 2; ++runs) {
    if (runs == 2) stats_program.run();
    const double moved = 1.0 - std::pow(0.9, runs);
    const auto running_mean = norm.running_mean().download();
    const auto running_var = norm.running_var().download();
    double worst = 0.0;
    for (uint32_t o = 0; o < c.c_out; ++o) {
      const double unbiased = count > 1.0 ? channel_var[o] * count / (count - 1.0) : channel_var[o];
      const double scale = std::sqrt(channel_var[o] + channel_mean[o] * channel_mean[o]) + 1e-30;
      worst = std::max(worst, std::abs(running_mean[o] - moved * channel_mean[o]) / scale);
      worst = std::max(worst, std::abs(running_var[o] - (1.0 - moved) - moved * unbiased) /
                                  (scale * scale + 1e-30));
    }
    EXPECT_LE(worst, 1e-5) << what << ": running statistics after " << runs << " run(s)";
  }
}

// Output shapes: the seed net's nine layers (batch 128 where the reference stays quick), then
// batch 1 and 3, H/W 13 and 27, 1/3/8/32 channels, "same" padding, even and 5x5 kernels, batches
// that leave the last workgroup partly empty and partial batches n < N.
INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2dGpuTest,
    ::testing::Values(Case{{128, 1, 28, 28}, 8, 3, 0, 128},   // conv1
                      Case{{128, 8, 26, 26}, 8, 3, 0, 128},   // conv2
                      Case{{16, 8, 24, 24}, 8, 3, 0, 16},     // conv3
                      Case{{128, 8, 11, 11}, 16, 3, 0, 100},  // conv4, partial batch
                      Case{{128, 16, 9, 9}, 16, 3, 0, 128},   // conv5
                      Case{{128, 16, 7, 7}, 8, 1, 0, 128},    // conv6
                      Case{{128, 8, 7, 7}, 32, 3, 0, 128},    // conv7
                      Case{{128, 32, 5, 5}, 16, 1, 0, 128},   // conv8
                      Case{{128, 16, 1, 1}, 10, 1, 0, 128},   // conv9
                      Case{{1, 1, 13, 13}, 3, 3, 1, 1},       // batch 1, same padding
                      Case{{3, 3, 27, 27}, 8, 3, 1, 3},       // batch 3, 27x27
                      Case{{5, 8, 13, 13}, 8, 3, 1, 3},     // partial batch, shares conv2's kernels
                      Case{{70, 32, 13, 27}, 3, 1, 0, 70},  // 1x1, non-square, 70 samples
                      Case{{70, 3, 13, 27}, 3, 3, 0, 70},   // 81 weights: odd tile, every lane live
                      Case{{2, 3, 9, 11}, 2, 5, 2, 2},      // 5x5 same
                      Case{{3, 2, 6, 5}, 3, 2, 0, 3},       // even kernel
                      Case{{2, 1, 3, 3}, 1, 3, 2, 2},       // padding beyond the kernel
                      Case{{6, 8, 6, 5}, 6, 5, 2, 5}),      // backward tiles of two packed channels
    [](const auto& param) { return test::case_name(param.index, name(param.param)); });

// The last shape above reaches the backward's tiles that are part of a packed group of four
// (CI_TILE 2, PART_GROUP in conv2d_backward.comp): a whole group's 4 x 150 weights (6 output
// channels, 5x5) would not fit the tile's 576, and with no more output than input channels the
// backward is the fused one (a conv with more output channels computes dx in whole groups).
TEST(Conv2dGpuArguments, BackwardTilesCanBePartOfAPackedGroup) {
  if (gpu().device.kernel_shape() != KernelShape::kCpu) GTEST_SKIP() << "the CPU shape's tiles";
  nn::Conv2d conv(gpu().device, kernels(), "conv", {6, 8, 6, 5}, 6, 5, 2);
  nn::Tensor x(gpu().device, {6, 8, 6, 5}, "x"), dy(gpu().device, conv.output_shape(), "dy"),
      dx(gpu().device, {6, 8, 6, 5}, "dx");
  Graph graph;
  conv.record_backward(graph, x, dy, &dx, 5);
  const auto keys = kernels().keys();
  const auto part_tile = [](const std::string& key) {
    return key.starts_with("conv2d_backward|") && key.find("|C_IN=8|C_OUT=6|") != key.npos &&
           key.find("|PACKED_IN=true|") != key.npos && key.find("|CI_TILE=2|") != key.npos;
  };
  EXPECT_TRUE(std::any_of(keys.begin(), keys.end(), part_tile))
      << "no conv2d_backward with CI_TILE=2 among " << fmt::format("{}", fmt::join(keys, "\n"));
}

TEST(Conv2dGpuArguments, RejectsWrongShapesAndBatches) {
  Device& device = gpu().device;
  nn::Conv2d conv(device, kernels(), "conv", {4, 2, 6, 6}, 3, 3, 0);
  nn::Tensor x(device, {4, 2, 6, 6}, "x"), y(device, {4, 3, 4, 4}, "y"),
      wrong(device, {4, 3, 6, 6}, "wrong");
  Graph graph;
  EXPECT_THROW(conv.record_forward(graph, x, wrong, 4), Error);
  EXPECT_THROW(conv.record_forward(graph, wrong, y, 4), Error);
  EXPECT_THROW(conv.record_forward(graph, x, y, 0), Error);
  EXPECT_THROW(conv.record_forward(graph, x, y, 5), Error);
  EXPECT_THROW(conv.record_backward(graph, x, y, &wrong, 4), Error);
  EXPECT_THROW(nn::Conv2d(device, kernels(), "big", {1, 1, 2, 2}, 1, 5, 1), Error);
  EXPECT_EQ(graph.size(), 0u);
}

TEST(Conv2dGpuArguments, ShapesAndParameters) {
  nn::Conv2d conv(gpu().device, kernels(), "conv7", {2, 8, 7, 7}, 32, 3, 0);
  EXPECT_EQ(conv.input_shape(), (nn::Shape{2, 8, 7, 7}));
  EXPECT_EQ(conv.output_shape(), (nn::Shape{2, 32, 5, 5}));
  EXPECT_EQ(conv.parameter_count(), 2304u);
  ASSERT_EQ(conv.parameters().size(), 1u);
  EXPECT_EQ(conv.parameters().front(), &conv.weight());
  EXPECT_EQ(conv.weight().name, "conv7.weight");
  EXPECT_EQ(conv.weight().value.shape(), (nn::Shape{32, 8, 3, 3}));
  nn::Conv2d same(gpu().device, kernels(), "same", {3, 1, 13, 27}, 4, 3, 1);
  EXPECT_EQ(same.output_shape(), (nn::Shape{3, 4, 13, 27}));
}

// The seed net's nine convolutions: input channels, output channels, input size, kernel.
struct Layer {
  uint32_t c_in, c_out, h, k;
};
constexpr Layer kSeedNet[] = {{1, 8, 28, 3},  {8, 8, 26, 3},  {8, 8, 24, 3},
                              {8, 16, 11, 3}, {16, 16, 9, 3}, {16, 8, 7, 1},
                              {8, 32, 7, 3},  {32, 16, 5, 1}, {16, 10, 1, 1}};

// The work each dispatch of a conv's forward and backward states (vkm::Node::macs, serial_macs)
// for the seed net's convs at batch 128, and the grid the device's kernel shape gives it: the GPU
// shape offers a large GPU 16,384 invocations or more wherever a dispatch does 1 MFLOP or more,
// each invocation a few thousand multiply-adds at most; the CPU shape keeps one invocation per
// sample or fewer per channel tile.
TEST(Conv2dGpuArguments, ParallelismFollowsTheKernelShape) {
  Device& device = gpu().device;
  const bool gpu_shape = device.kernel_shape() == KernelShape::kGpu;
  constexpr uint32_t kBatch = 128;
  for (const Layer& l : kSeedNet) {
    nn::Conv2d conv(device, kernels(), "conv", {kBatch, l.c_in, l.h, l.h}, l.c_out, l.k, 0);
    nn::Tensor x(device, conv.input_shape(), "x"), y(device, conv.output_shape(), "y"),
        dx(device, conv.input_shape(), "dx");
    Graph graph;
    conv.record_forward(graph, x, y, kBatch);
    conv.record_backward(graph, x, y, &dx, kBatch, false);
    const nn::Shape out = conv.output_shape();
    const uint64_t macs = uint64_t{kBatch} * l.c_out * out.h * out.w * l.c_in * l.k * l.k;
    uint64_t total = 0;
    for (const Node& node : graph.nodes()) {
      const auto& local = node.kernel->local_size();
      const uint64_t invocations = uint64_t{node.groups[0]} * node.groups[1] * node.groups[2] *
                                   local[0] * local[1] * local[2];
      const std::string what =
          fmt::format("{} of conv {}->{} {}x{} k{}: {} invocations, {} of {} MACs each", node.label,
                      l.c_in, l.c_out, l.h, l.h, l.k, invocations, node.serial_macs, node.macs);
      total += node.macs;
      EXPECT_GT(node.serial_macs, 0u) << what;
      // Every multiply-add has an invocation to run it.
      EXPECT_GE(node.serial_macs * invocations, node.macs) << what;
      if (gpu_shape) {
        if (2 * node.macs >= 1'000'000) {
          EXPECT_GE(invocations, 16384u) << what;
        }
        EXPECT_LE(node.serial_macs, 4096u) << what;
      } else {
        EXPECT_LE(invocations, uint64_t{kBatch} * std::max(l.c_in, l.c_out)) << what;
      }
    }
    // The forward, dx and the weight gradient: each the forward's multiply-adds.
    EXPECT_EQ(total, 3 * macs) << l.c_in << "->" << l.c_out;
  }
}

// Not a check: the seed net's nine convolutions at batch 128, forward then backward (conv1 without
// dx), timed on whatever device the tests run on. Run with --gtest_also_run_disabled_tests.
TEST(Conv2dGpuTiming, DISABLED_SeedNetForwardBackward) {
  Device& device = gpu().device;
  constexpr uint32_t kBatch = 128;
  std::vector<std::unique_ptr<nn::Conv2d>> convs;
  std::vector<std::unique_ptr<nn::Tensor>> tensors;  // x, y, dx per layer
  Graph graph;
  for (size_t i = 0; i < std::size(kSeedNet); ++i) {
    const Layer& l = kSeedNet[i];
    convs.push_back(std::make_unique<nn::Conv2d>(device, kernels(), fmt::format("conv{}", i + 1),
                                                 nn::Shape{kBatch, l.c_in, l.h, l.h}, l.c_out, l.k,
                                                 0));
    for (const nn::Shape& s :
         {convs[i]->input_shape(), convs[i]->output_shape(), convs[i]->input_shape()}) {
      tensors.push_back(std::make_unique<nn::Tensor>(device, s, "t"));
      tensors.back()->upload(uniform(s.numel(), -1.0f, 1.0f, tensors.size()));
    }
    convs[i]->record_forward(graph, *tensors[3 * i], *tensors[3 * i + 1], kBatch);
  }
  for (size_t i = std::size(kSeedNet); i-- > 0;) {
    convs[i]->record_backward(graph, *tensors[3 * i], *tensors[3 * i + 1],
                              i == 0 ? nullptr : tensors[3 * i + 2].get(), kBatch);
  }
  Program program(device, graph);
  program.run();  // the first run compiles (lavapipe caches the result on disk)
  double best = 1e30, total = 0.0;
  constexpr int kRuns = 10;
  for (int r = 0; r < kRuns; ++r) {
    const auto start = std::chrono::steady_clock::now();
    program.run();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    best = std::min(best, ms);
    total += ms;
  }
  std::printf(
      "seed net convolutions, batch %u, forward + backward: best %.1f ms, mean %.1f ms (%zu "
      "dispatches)\n",
      kBatch, best, total / kRuns, program.dispatches());
  Program profiled(device, graph, {.profile = true});
  profiled.run();
  profiled.run();
  for (const NodeTiming& t : profiled.timings())
    std::printf("  %-40s %7.3f ms\n", t.label.c_str(), t.ms);
}

}  // namespace
}  // namespace vkm::test
