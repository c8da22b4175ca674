// MaxPool2d and AvgPoolGlobal on the device vs the CPU reference: awkward shapes (odd sizes,
// batch 1, 3 and 128, partial batches), ties after a ReLU, poisoned outputs, samples past n left
// untouched, bitwise determinism.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/layers/pool.hpp"
#include "nn/reference/pool.hpp"
#include "tests/support/case_name.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/random.hpp"

namespace vkm::test {
namespace {

struct Case {
  nn::Shape shape;  // built for this (max) shape
  uint32_t n;       // the batch actually run
};

std::string name(const Case& c) {
  return fmt::format("{} n={}", c.shape.str(), c.n);
}
void PrintTo(const Case& c, std::ostream* os) {
  *os << name(c);
}

nn::Shape with_n(nn::Shape s, uint32_t n) {
  s.n = n;
  return s;
}

// The first `count` values, and whether everything after them is still the NaN poison.
std::vector<float> head(const std::vector<float>& v, size_t count) {
  return {v.begin(), v.begin() + static_cast<std::ptrdiff_t>(count)};
}
bool untouched_after(const std::vector<float>& v, size_t count) {
  return std::all_of(v.begin() + static_cast<std::ptrdiff_t>(count), v.end(),
                     [](float f) { return std::isnan(f); });
}

// ReLU'd values: about half the elements are exactly zero, so many windows tie.
std::vector<float> relu_like(size_t count, uint64_t stream) {
  auto v = uniform(count, -1.0f, 1.0f, stream);
  for (auto& f : v) f = std::max(f, 0.0f);
  return v;
}

class PoolGpuTest : public GpuTest, public ::testing::WithParamInterface<Case> {
 protected:
  template <typename Record>
  std::vector<float> run(const nn::Tensor& out, Record record) {
    out.fill(NAN);
    Graph g;
    record(g);
    Program(device(), g).run();
    return out.download();
  }
};

TEST_P(PoolGpuTest, MaxPoolMatchesReference) {
  const Case& c = GetParam();
  const nn::MaxPool2d pool(kernels(), c.shape);
  const nn::Shape out_shape = pool.output_shape();
  ASSERT_EQ(out_shape, (nn::Shape{c.shape.n, c.shape.c, c.shape.h / 2, c.shape.w / 2}));
  nn::Tensor x(device(), c.shape, "x"), y(device(), out_shape, "y");
  nn::Tensor dy(device(), out_shape, "dy"), dx(device(), c.shape, "dx");
  const auto xv = relu_like(c.shape.numel(), 1);
  const auto dyv = uniform(out_shape.numel(), -1.0f, 1.0f, 2);
  x.upload(xv);
  dy.upload(dyv);

  const size_t in_count = with_n(c.shape, c.n).numel(), out_count = with_n(out_shape, c.n).numel();
  std::vector<float> want_y(out_count), want_dx(in_count);
  nn::reference::maxpool2d_forward<float>(with_n(c.shape, c.n), head(xv, in_count), want_y);
  nn::reference::maxpool2d_backward<float>(with_n(c.shape, c.n), head(xv, in_count),
                                           head(dyv, out_count), want_dx);

  auto forward = [&](Graph& g) { pool.record_forward(g, x, y, c.n); };
  auto backward = [&](Graph& g) { pool.record_backward(g, x, dy, dx, c.n); };
  const auto got_y = run(y, forward);
  const auto got_dx = run(dx, backward);
  EXPECT_TRUE(
      close("maxpool2d_forward " + name(c), head(got_y, out_count), want_y, kKernelTolerance));
  EXPECT_TRUE(
      close("maxpool2d_backward " + name(c), head(got_dx, in_count), want_dx, kKernelTolerance));
  // Ties must go to the same element as the reference: exact, not just close.
  EXPECT_TRUE(bitwise_equal("maxpool2d_backward ties " + name(c), head(got_dx, in_count), want_dx));
  EXPECT_TRUE(untouched_after(got_y, out_count)) << "forward wrote past sample n";
  EXPECT_TRUE(untouched_after(got_dx, in_count)) << "backward wrote past sample n";
  EXPECT_TRUE(bitwise_equal("maxpool2d_forward rerun " + name(c), got_y, run(y, forward)));
  EXPECT_TRUE(bitwise_equal("maxpool2d_backward rerun " + name(c), got_dx, run(dx, backward)));
}

TEST_P(PoolGpuTest, AvgPoolMatchesReference) {
  const Case& c = GetParam();
  const nn::AvgPoolGlobal pool(kernels(), c.shape);
  const nn::Shape out_shape = pool.output_shape();
  ASSERT_EQ(out_shape, (nn::Shape{c.shape.n, c.shape.c, 1, 1}));
  nn::Tensor x(device(), c.shape, "x"), y(device(), out_shape, "y");
  nn::Tensor dy(device(), out_shape, "dy"), dx(device(), c.shape, "dx");
  const auto xv = uniform(c.shape.numel(), -0.5f, 1.5f, 3);  // a mean well away from zero
  const auto dyv = uniform(out_shape.numel(), -1.0f, 1.0f, 4);
  x.upload(xv);
  dy.upload(dyv);

  const size_t in_count = with_n(c.shape, c.n).numel(), out_count = size_t{c.n} * c.shape.c;
  std::vector<double> want_y(out_count), want_dx(in_count);
  const auto xs = head(xv, in_count), dys = head(dyv, out_count);
  nn::reference::avgpool_global_forward<double>(with_n(c.shape, c.n),
                                                std::vector<double>(xs.begin(), xs.end()), want_y);
  nn::reference::avgpool_global_backward<double>(
      with_n(c.shape, c.n), std::vector<double>(dys.begin(), dys.end()), want_dx);

  auto forward = [&](Graph& g) { pool.record_forward(g, x, y, c.n); };
  auto backward = [&](Graph& g) { pool.record_backward(g, x, dy, dx, c.n); };
  const auto got_y = run(y, forward);
  const auto got_dx = run(dx, backward);
  EXPECT_TRUE(
      close("avgpool_global_forward " + name(c), head(got_y, out_count), want_y, kKernelTolerance));
  EXPECT_TRUE(close("avgpool_global_backward " + name(c), head(got_dx, in_count), want_dx,
                    kKernelTolerance));
  EXPECT_TRUE(untouched_after(got_y, out_count)) << "forward wrote past sample n";
  EXPECT_TRUE(untouched_after(got_dx, in_count)) << "backward wrote past sample n";
  EXPECT_TRUE(bitwise_equal("avgpool_global_forward rerun " + name(c), got_y, run(y, forward)));
  EXPECT_TRUE(bitwise_equal("avgpool_global_backward rerun " + name(c), got_dx, run(dx, backward)));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PoolGpuTest,
    ::testing::Values(Case{{1, 1, 13, 13}, 1},      // odd: last row, column dropped
                      Case{{3, 3, 27, 27}, 3},      //
                      Case{{128, 8, 22, 22}, 128},  // the seed net's maxpool
                      Case{{128, 16, 5, 5}, 128},   // the seed net's avgpool
                      Case{{3, 32, 13, 13}, 3},     //
                      Case{{5, 8, 26, 27}, 3},      // partial batch, H != W
                      Case{{2, 4, 41, 35}, 2},      // 340 windows: more than a GPU-shape workgroup
                      Case{{2, 1, 2, 2}, 1}),       // one window per plane
    [](const auto& param) { return test::case_name(param.index, name(param.param)); });

// The seed net's max-pool at batch 128: the GPU shape launches an invocation per output forward
// and spreads each plane's windows over invocations backward (>= 16,384 either way, what a large
// GPU needs); the CPU shape an invocation per output row forward and per plane backward.
TEST(PoolGpuArguments, MaxPoolParallelismFollowsTheKernelShape) {
  const bool gpu_shape = gpu().device.kernel_shape() == KernelShape::kGpu;
  const nn::Shape in{128, 8, 22, 22};
  const nn::MaxPool2d pool(kernels(), in);
  nn::Tensor x(gpu().device, in, "x"), y(gpu().device, pool.output_shape(), "y"),
      dx(gpu().device, in, "dx");
  Graph graph;
  pool.record_forward(graph, x, y, in.n);
  pool.record_backward(graph, x, y, dx, in.n);
  ASSERT_EQ(graph.size(), 2u);
  std::vector<uint64_t> invocations;
  for (const Node& node : graph.nodes()) {
    invocations.push_back(uint64_t{node.groups[0]} * node.groups[1] * node.groups[2] *
                          node.kernel->local_size()[0]);
  }
  const uint64_t packed_planes = in.n * in.c / 4;
  if (gpu_shape) {
    EXPECT_GE(invocations[0], packed_planes * 11 * 11);
    EXPECT_GE(invocations[1], 16384u);
  } else {
    EXPECT_LT(invocations[0], packed_planes * 11 + 64);
    EXPECT_LT(invocations[1], packed_planes + 64);
  }
}

TEST(PoolGpuArguments, RejectsBadShapesAndBatches) {
  EXPECT_THROW(nn::MaxPool2d(kernels(), {2, 3, 1, 8}), Error);
  const nn::MaxPool2d pool(kernels(), {2, 3, 4, 4});
  nn::Tensor x(gpu().device, {2, 3, 4, 4}, "x"), y(gpu().device, {2, 3, 2, 2}, "y");
  nn::Tensor wrong(gpu().device, {2, 3, 4, 4}, "wrong");
  Graph g;
  EXPECT_THROW(pool.record_forward(g, x, y, 3), Error);      // more than built for
  EXPECT_THROW(pool.record_forward(g, x, y, 0), Error);      // empty batch
  EXPECT_THROW(pool.record_forward(g, x, wrong, 2), Error);  // output of the input's shape
}

}  // namespace
}  // namespace vkm::test
