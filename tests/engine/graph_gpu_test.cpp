// Graph executor: barriers exactly where hazards are, right answers, replay, chunks, profiling.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/tensor.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/gpu_env.hpp"

namespace vkm::test {
namespace {

struct AxpbyPush {
  uint32_t n;
  float alpha;
  float beta;
  uint32_t pad;
};
static_assert(sizeof(AxpbyPush) == 16, "mirrors Push in axpby.comp");

class GraphTest : public GpuTest {
 protected:
  const Kernel& axpby() {
    return kernels().get({.shader = "axpby",
                          .local_size = {64, 1, 1},
                          .push_constant_bytes = sizeof(AxpbyPush),
                          .bindings = 3});
  }
  // out = alpha * x + beta * y
  void add(Graph& g, const nn::Tensor& x, const nn::Tensor& y, const nn::Tensor& out, float alpha,
           float beta) {
    const uint32_t n = static_cast<uint32_t>(out.numel());
    g.dispatch(axpby(), {reads(x.buffer()), reads(y.buffer()), writes(out.buffer())},
               AxpbyPush{n, alpha, beta, 0}, {n, 1, 1});
  }
  nn::Tensor tensor(uint32_t n, const char* name, float value) {
    nn::Tensor t(device(), {n, 1, 1, 1}, name);
    t.upload(std::vector<float>(n, value));
    return t;
  }
};

TEST_F(GraphTest, DependentDispatchesGetOneBarrierAndTheRightAnswer) {
  const uint32_t n = 1000;  // not a multiple of the 64-wide workgroup
  auto a = tensor(n, "a", 1.5f);
  auto b = tensor(n, "b", NAN);
  auto c = tensor(n, "c", NAN);
  Graph g;
  add(g, a, a, b, 1.0f, 1.0f);  // b = 2a
  add(g, b, a, c, 2.0f, 1.0f);  // c = 2b + a   (reads b: read-after-write)
  Program program(device(), g);
  EXPECT_EQ(program.levels(), 2u);
  EXPECT_EQ(program.barriers(), 1u);
  EXPECT_EQ(program.dispatches(), 2u);
  program.run();
  EXPECT_TRUE(close("c = 2(2a) + a", c.download(), std::vector<float>(n, 7.5f), 0.0));
}

TEST_F(GraphTest, IndependentDispatchesShareALevelWithNoBarrier) {
  const uint32_t n = 257;
  auto a = tensor(n, "a", 2.0f);
  auto b = tensor(n, "b", NAN);
  auto c = tensor(n, "c", NAN);
  Graph g;
  add(g, a, a, b, 1.0f, 0.0f);  // b = a
  add(g, a, a, c, 3.0f, 0.0f);  // c = 3a, both only read a
  Program program(device(), g);
  EXPECT_EQ(program.levels(), 1u);
  EXPECT_EQ(program.barriers(), 0u);
  program.run();
  EXPECT_TRUE(close("b", b.download(), std::vector<float>(n, 2.0f), 0.0));
  EXPECT_TRUE(close("c", c.download(), std::vector<float>(n, 6.0f), 0.0));
}

TEST_F(GraphTest, WriteAfterReadAndWriteAfterWriteAreOrdered) {
  const uint32_t n = 300;
  auto a = tensor(n, "a", 1.0f);
  auto b = tensor(n, "b", 5.0f);
  auto c = tensor(n, "c", NAN);
  Graph g;
  add(g, b, b, c, 1.0f, 0.0f);  // c = b (reads b)
  add(g, a, a, b, 1.0f, 0.0f);  // b = a  (write-after-read on b)
  add(g, a, a, b, 2.0f, 0.0f);  // b = 2a (write-after-write on b)
  Program program(device(), g);
  EXPECT_EQ(program.levels(), 3u);
  EXPECT_EQ(program.barriers(), 2u);
  program.run();
  EXPECT_TRUE(close("c saw the old b", c.download(), std::vector<float>(n, 5.0f), 0.0));
  EXPECT_TRUE(close("b got the last write", b.download(), std::vector<float>(n, 2.0f), 0.0));
}

TEST_F(GraphTest, IndependentNodeRecordedLateJoinsTheFirstLevel) {
  const uint32_t n = 64;
  auto a = tensor(n, "a", 1.0f);
  auto b = tensor(n, "b", NAN);
  auto c = tensor(n, "c", NAN);
  auto d = tensor(n, "d", NAN);
  Graph g;
  add(g, a, a, b, 1.0f, 0.0f);
  add(g, b, b, c, 1.0f, 0.0f);
  add(g, a, a, d, 4.0f, 0.0f);  // depends on nothing written: level 0
  Program program(device(), g);
  EXPECT_EQ(program.levels(), 2u);
  EXPECT_EQ(program.barriers(), 1u);
  program.run();
  EXPECT_TRUE(close("d", d.download(), std::vector<float>(n, 4.0f), 0.0));
  EXPECT_TRUE(close("c", c.download(), std::vector<float>(n, 1.0f), 0.0));
}

TEST_F(GraphTest, ReplayingNTimesDoesNTimesTheWork) {
  const uint32_t n = 513;
  auto ones = tensor(n, "ones", 1.0f);
  auto acc = tensor(n, "acc", 0.0f);
  Graph step;
  add(step, ones, acc, acc, 1.0f, 1.0f);  // acc += 1, in place
  step.mark_step();
  Graph three;
  for (int i = 0; i < 3; ++i) three.append(step);
  Program program(device(), three, {.steps_per_chunk = 1});
  EXPECT_EQ(program.chunks(), 3u);
  EXPECT_EQ(program.barriers(), 2u);
  size_t calls = 0;
  for (int replay = 0; replay < 4; ++replay) {
    program.run([&](size_t done, size_t total) {
      ++calls;
      EXPECT_LE(done, total);
    });
  }
  EXPECT_EQ(calls, 12u);
  EXPECT_TRUE(
      close("acc after 4 replays of 3 steps", acc.download(), std::vector<float>(n, 12.0f), 0.0));
}

// Chunks end at the steps the graph marks, whatever the steps' sizes; every chunk's work is done
// when the host has waited for it.
TEST_F(GraphTest, ChunksEndAtMarkedSteps) {
  const uint32_t n = 64;
  auto ones = tensor(n, "ones", 1.0f);
  auto acc = tensor(n, "acc", 0.0f);
  Graph g;
  for (int nodes : {1, 3, 2, 1, 4}) {  // five steps of uneven length
    for (int i = 0; i < nodes; ++i) add(g, ones, acc, acc, 1.0f, 1.0f);
    g.mark_step();
  }
  EXPECT_EQ(Program(device(), g, {.steps_per_chunk = 1}).chunks(), 5u);
  EXPECT_EQ(Program(device(), g, {.steps_per_chunk = 2}).chunks(), 3u);
  EXPECT_EQ(Program(device(), g, {.steps_per_chunk = 5}).chunks(), 1u);
  EXPECT_EQ(Program(device(), g, {}).chunks(), 1u);
  Program program(device(), g, {.steps_per_chunk = 2});
  std::vector<float> after;
  program.run([&](size_t, size_t) { after.push_back(acc.download()[0]); });
  // Reads between chunks may see later chunks' work too (they were all submitted); the last
  // one sees all 11 additions.
  ASSERT_EQ(after.size(), 3u);
  EXPECT_GE(after[0], 4.0f);
  EXPECT_GE(after[1], 7.0f);
  EXPECT_EQ(after[2], 11.0f);
}

TEST_F(GraphTest, FillAndCopyNodesAreOrderedLikeDispatches) {
  const uint32_t n = 100;
  auto a = tensor(n, "a", 3.0f);
  auto b = tensor(n, "b", NAN);
  auto c = tensor(n, "c", NAN);
  Graph g;
  g.fill(b.buffer(), 0);           // b = 0
  add(g, a, b, b, 1.0f, 1.0f);     // b = a + b = 3
  g.copy(b.buffer(), c.buffer());  // c = b
  Program program(device(), g);
  EXPECT_EQ(program.barriers(), 2u);
  program.run();
  EXPECT_TRUE(close("c", c.download(), std::vector<float>(n, 3.0f), 0.0));
}

TEST_F(GraphTest, ProfilingTimesEveryNode) {
  const uint32_t n = 4096;
  auto a = tensor(n, "a", 1.0f);
  auto b = tensor(n, "b", NAN);
  Graph g;
  add(g, a, a, b, 1.0f, 1.0f);
  add(g, a, b, b, 1.0f, 1.0f);
  Program program(device(), g, {.profile = true});
  const auto start = std::chrono::steady_clock::now();
  program.run();
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const auto timings = program.timings();
  ASSERT_EQ(timings.size(), 2u);
  double sum = 0.0;
  for (const auto& t : timings) {
    EXPECT_EQ(t.label, "axpby");
    EXPECT_GT(t.ms, 0.0) << "a dispatch of 4,096 invocations took no time";
    sum += t.ms;
  }
  // The nodes ran one after the other inside the submission the host waited for.
  EXPECT_LE(sum, wall_ms);
  EXPECT_TRUE(close("b", b.download(), std::vector<float>(n, 3.0f), 0.0));
}

TEST_F(GraphTest, MismatchedPushConstantsOrBindingsAreRejected) {
  auto a = tensor(16, "a", 1.0f);
  Graph g;
  EXPECT_THROW(g.dispatch(axpby(), {reads(a.buffer())}, AxpbyPush{16, 1, 1, 0}, {16, 1, 1}), Error);
  struct Small {
    uint32_t n;
  };
  EXPECT_THROW(g.dispatch(axpby(), {reads(a.buffer()), reads(a.buffer()), writes(a.buffer())},
                          Small{16}, {16, 1, 1}),
               Error);
}

}  // namespace
}  // namespace vkm::test
