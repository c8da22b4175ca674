// Sgd on the device vs the CPU reference: several steps with momentum 0.9, L2 1e-4 and L1 1e-3
// over weights with exact zeros; the learning rate read from the schedule at the global step
// (epoch * steps_per_epoch + step); a recorded program replayed after the host moves the clock;
// bitwise determinism.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/clock.hpp"
#include "nn/layers/sgd.hpp"
#include "nn/parameter.hpp"
#include "nn/reference/sgd.hpp"
#include "tests/support/case_name.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/random.hpp"

namespace vkm::test {
namespace {

// The parameter's shape, printable in test names.
struct ParamShape {
  nn::Shape shape;
};
void PrintTo(const ParamShape& p, std::ostream* os) {
  *os << p.shape.str();
}

constexpr float kMomentum = 0.9f, kL2 = 1e-4f, kL1 = 1e-3f;

class SgdGpuTest : public GpuTest, public ::testing::WithParamInterface<ParamShape> {
 protected:
  Buffer upload_clock(nn::ClockState state) {
    Buffer b = device().buffer(sizeof(state), "clock");
    set_clock(b, state);
    return b;
  }
  void set_clock(const Buffer& b, nn::ClockState state) {
    device().upload(b, std::as_bytes(std::span(&state, 1)));
  }
  Buffer upload_schedule(const std::vector<float>& lr) {
    Buffer b = device().buffer(lr.size() * sizeof(float), "lr_schedule");
    device().upload(b, std::as_bytes(std::span(lr)));
    return b;
  }
  // Weights with every seventh value exactly zero (L1's sign(0) = 0 must leave them to the
  // gradient alone); gradients zero at every fourteenth, so some zeros stay zero.
  static std::vector<float> weights(size_t n) {
    auto w = uniform(n, -0.5f, 0.5f, 10);
    for (size_t i = 0; i < n; i += 7) w[i] = 0.0f;
    return w;
  }
  static std::vector<float> gradient(size_t n, uint64_t stream) {
    auto g = uniform(n, -1.0f, 1.0f, 20 + stream);
    for (size_t i = 0; i < n; i += 14) g[i] = 0.0f;
    return g;
  }
};

TEST_P(SgdGpuTest, StepsMatchReference) {
  const nn::Shape shape = GetParam().shape;
  const std::string what = "sgd_update " + shape.str();
  const nn::ClockState clock{.epoch = 2, .steps_per_epoch = 7, .seed = 1};
  std::vector<float> schedule(3 * 7);
  for (size_t i = 0; i < schedule.size(); ++i) schedule[i] = 0.01f * static_cast<float>(i + 1);
  const Buffer clk = upload_clock(clock);
  const Buffer lr = upload_schedule(schedule);
  const nn::Sgd sgd(kernels(), kMomentum, kL2, kL1);
  nn::Parameter param(device(), "conv.weight", shape);
  nn::Tensor velocity(device(), shape, "conv.weight.velocity", nn::Layout::kNCHW);

  auto run = [&] {
    std::vector<float> w = weights(shape.numel()), v(shape.numel(), 0.0f);
    param.value.upload(w);
    velocity.fill(0.0f);
    for (uint32_t step = 0; step < 5; ++step) {
      const auto g = gradient(shape.numel(), step);
      param.grad.upload(g);
      Graph graph;
      sgd.record_update(graph, param, velocity, lr, clk, step);
      Program(device(), graph).run();
      const double rate = schedule[nn::global_step(clock, step)];
      nn::reference::sgd_update<float>({rate, kMomentum, kL2, kL1}, w, g, v);
      EXPECT_TRUE(close(fmt::format("{} step {} weights", what, step), param.value.download(), w,
                        kKernelTolerance));
      EXPECT_TRUE(close(fmt::format("{} step {} velocity", what, step), velocity.download(), v,
                        kKernelTolerance));
    }
    return param.value.download();
  };
  const auto first = run();
  // Weights that were zero with a zero gradient at every step: only momentum of zero, so still 0.
  EXPECT_EQ(first[0], 0.0f);
  EXPECT_TRUE(bitwise_equal(what + " rerun", first, run()));
}

INSTANTIATE_TEST_SUITE_P(Parameters, SgdGpuTest,
                         ::testing::Values(ParamShape{{8, 1, 3, 3}},      // conv1: 72 values
                                           ParamShape{{32, 8, 3, 3}},     // conv7: 2,304
                                           ParamShape{{1, 1, 1, 1}},      // one value
                                           ParamShape{{3, 1, 1, 1031}}),  // last workgroup partial
                         [](const auto& param) {
                           return test::case_name(param.index, param.param.shape.str());
                         });

TEST_F(SgdGpuTest, ReadsTheLearningRateAtTheGlobalStep) {
  // Only entry 2 * 9 + 5 = 23 is a number: reading any other makes the weights NaN.
  const uint32_t steps_per_epoch = 9, step = 5, global = 2 * steps_per_epoch + step;
  std::vector<float> schedule(40, std::numeric_limits<float>::quiet_NaN());
  schedule[global] = 0.25f;
  const Buffer lr = upload_schedule(schedule);
  const Buffer clk = upload_clock({.epoch = 2, .steps_per_epoch = steps_per_epoch, .seed = 3});
  const nn::Sgd sgd(kernels(), kMomentum, kL2, kL1);
  const nn::Shape shape{16, 8, 3, 3};
  nn::Parameter param(device(), "conv4.weight", shape);
  nn::Tensor velocity(device(), shape, "velocity", nn::Layout::kNCHW);
  std::vector<float> w = weights(shape.numel()), v(shape.numel(), 0.0f);
  const auto g = gradient(shape.numel(), 0);
  param.value.upload(w);
  param.grad.upload(g);
  velocity.fill(0.0f);
  Graph graph;
  sgd.record_update(graph, param, velocity, lr, clk, step);
  Program program(device(), graph);
  program.run();
  nn::reference::sgd_update<float>({0.25, kMomentum, kL2, kL1}, w, g, v);
  EXPECT_TRUE(close("sgd_update at global step 23", param.value.download(), w, kKernelTolerance));

  // The recorded program replayed in another epoch reads another entry: the host moves only the
  // clock. Epoch 1: global step 14, lr 0.5.
  schedule[steps_per_epoch + step] = 0.5f;
  device().upload(lr, std::as_bytes(std::span(schedule)));
  set_clock(clk, {.epoch = 1, .steps_per_epoch = steps_per_epoch, .seed = 3});
  program.run();
  nn::reference::sgd_update<float>({0.5, kMomentum, kL2, kL1}, w, g, v);
  EXPECT_TRUE(
      close("sgd_update replayed at global step 14", param.value.download(), w, kKernelTolerance));
  EXPECT_TRUE(close("sgd_update replayed velocity", velocity.download(), v, kKernelTolerance));
}

// The model's single update: parameters as segments of flat buffers with gaps between them, three
// of them with their gradient still as per-lane partial sums (nn::WeightPartials' layout: tiles of
// input channels, each lane's set padded) that the update adds in lane order and writes to the
// gradient buffer.
TEST_F(SgdGpuTest, SegmentsReducePartialsThenStep) {
  struct Case {
    uint32_t offset, count;
    nn::WeightPartials partials;  // lanes 0: the gradient is in the gradient buffer
  };
  // Whole vec4s (the kernel's fast path) and not (count 17; 72 weights of rows of 9), with and
  // without partial sums, one tile and several (2304 = 16 x 16 x 3 x 3 in tiles of 4 channels).
  const std::vector<Case> cases = {{0, 72, {5, 9, 9, 72}},
                                   {80, 17, {}},
                                   {100, 2304, {3, 144, 36, 576}},
                                   {2408, 16, {}},
                                   {2424, 160, {2, 16, 8, 80}}};
  const uint32_t floats = 2584 + 7;  // a gap after the last too
  std::vector<float> w = weights(floats), v = uniform(floats, -0.1f, 0.1f, 30);
  std::vector<float> g = gradient(floats, 40), want_g = g;
  std::vector<float> partials;
  std::vector<nn::SgdSegment> segments;
  for (const Case& c : cases) {
    nn::SgdSegment s{.offset = c.offset, .count = c.count};
    if (c.partials.lanes > 0) {
      const nn::WeightPartials& p = c.partials;
      s.take_partials(static_cast<uint32_t>(partials.size()), p);
      const uint32_t tiles = p.row / p.tile;
      const auto sums = uniform(size_t{tiles} * p.lanes * p.stride, -1.0f, 1.0f, 50 + c.offset);
      partials.insert(partials.end(), sums.begin(), sums.end());
      for (uint32_t i = 0; i < c.count; ++i) want_g[c.offset + i] = p.sum(sums, i);
    }
    segments.push_back(s);
  }
  std::vector<float> want_w = w, want_v = v;
  for (const Case& c : cases) {
    nn::reference::sgd_update<float>({0.05, kMomentum, kL2, kL1},
                                     std::span(want_w).subspan(c.offset, c.count),
                                     std::span<const float>(want_g).subspan(c.offset, c.count),
                                     std::span(want_v).subspan(c.offset, c.count));
  }
  const auto upload = [&](const std::vector<float>& values, const char* name) {
    Buffer b = device().buffer(values.size() * sizeof(float), name);
    device().upload(b, std::as_bytes(std::span(values)));
    return b;
  };
  const Buffer values = upload(w, "values"), grads = upload(g, "grads"),
               velocities = upload(v, "velocities"), partial_sums = upload(partials, "partials");
  Buffer table = device().buffer(segments.size() * sizeof(nn::SgdSegment), "segments");
  device().upload(table, std::as_bytes(std::span(segments)));
  const Buffer lr = upload_schedule({0.05f});
  const Buffer clk = upload_clock({.epoch = 0, .steps_per_epoch = 1, .seed = 1});
  const nn::Sgd sgd(kernels(), kMomentum, kL2, kL1);
  Graph graph;
  sgd.record_update(graph, values, grads, velocities, partial_sums, table,
                    static_cast<uint32_t>(segments.size()), 2304, lr, clk, 0, "segments");
  Program(device(), graph).run();
  const auto download = [&](const Buffer& b) {
    std::vector<float> out(floats);
    device().download(b, std::as_writable_bytes(std::span(out)));
    return out;
  };
  // The gradients reduced exactly as the conv's reduce pass would; the gaps untouched.
  EXPECT_TRUE(bitwise_equal("reduced gradients", download(grads), want_g));
  EXPECT_TRUE(close("segment weights", download(values), want_w, kKernelTolerance));
  EXPECT_TRUE(close("segment velocities", download(velocities), want_v, kKernelTolerance));
  const auto got_w = download(values);
  for (uint32_t i : {72u, 79u, 97u, 99u, 2404u, 2407u, floats - 1})
    EXPECT_EQ(got_w[i], w[i]) << "gap " << i;
}

TEST(SgdGpuArguments, RejectsMismatchedVelocityAndBadHyperparameters) {
  EXPECT_THROW(nn::Sgd(kernels(), 1.0f, 0.0f, 0.0f), Error);
  EXPECT_THROW(nn::Sgd(kernels(), 0.9f, -1.0f, 0.0f), Error);
  const nn::Sgd sgd(kernels(), 0.9f, 0.0f, 0.0f);
  nn::Parameter param(gpu().device, "w", {2, 2, 1, 1});
  nn::Tensor velocity(gpu().device, {2, 1, 1, 1}, "v");
  Buffer lr = gpu().device.buffer(sizeof(float), "lr");
  Buffer clk = gpu().device.buffer(sizeof(nn::ClockState), "clock");
  Graph g;
  EXPECT_THROW(sgd.record_update(g, param, velocity, lr, clk, 0), Error);
}

}  // namespace
}  // namespace vkm::test
