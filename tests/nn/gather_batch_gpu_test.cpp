// GatherBatch on the device vs the CPU reference: synthetic data sets (28x28 and an awkward
// 13x27 whose rows straddle packed words) and real MNIST digits when present; rotated training
// batches, partial batches, evaluation (exact), determinism and per-epoch replay of one Program.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <random>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "nn/clock.hpp"
#include "nn/data/device_dataset.hpp"
#include "nn/data/gather_batch.hpp"
#include "nn/data/idx.hpp"
#include "nn/reference/gather_batch.hpp"
#include "tests/support/compare.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/random.hpp"
#include "tests/support/source_dir.hpp"

namespace vkm::test {
namespace {

constexpr uint32_t kNaN = 0x7FC00000u;
constexpr uint32_t kNoLabel = 0xFFFFFFFFu;

nn::Dataset synthetic(uint32_t count, uint32_t rows, uint32_t cols, uint64_t stream) {
  std::mt19937_64 rng(test_seed() ^ (stream * 0x9E3779B97F4A7C15ull));
  nn::Dataset d;
  d.images = {count, rows, cols, std::vector<uint8_t>(size_t{count} * rows * cols)};
  // Blobs of ink on a dark background, like digits: smooth enough that bilinear sampling
  // matters, with some saturated pixels.
  for (auto& v : d.images.pixels) {
    const auto r = rng() % 4;
    v = r == 0 ? 0 : r == 1 ? 255 : static_cast<uint8_t>(rng() & 0xFF);
  }
  d.labels = {count, std::vector<uint8_t>(count)};
  for (auto& l : d.labels.labels) l = static_cast<uint8_t>(rng() % 10);
  return d;
}

std::vector<uint32_t> shuffled(uint32_t count, uint64_t stream) {
  std::vector<uint32_t> p(count);
  std::iota(p.begin(), p.end(), 0u);
  std::shuffle(p.begin(), p.end(), std::mt19937_64(test_seed() + stream));
  return p;
}

class GatherBatchTest : public GpuTest {
 protected:
  struct Setup {
    Setup(Device& device, const nn::Dataset& data, std::vector<uint32_t> perm, uint32_t max_batch,
          nn::ClockState clock_state)
        : host(data),
          dataset(device, data),
          order(std::move(perm)),
          permutation(device.buffer(order.size() * 4, "permutation")),
          clock(device.buffer(sizeof(nn::ClockState), "clock")),
          x(device, {max_batch, 1, data.images.rows, data.images.cols}, "x"),
          labels(device.buffer(max_batch * 4, "batch labels")),
          state(clock_state) {
      device.upload(permutation, std::as_bytes(std::span(order)));
      set_clock(device, state);
    }
    void set_clock(Device& device, nn::ClockState s) {
      state = s;
      device.upload(clock, std::as_bytes(std::span(&state, 1)));
    }
    const nn::Dataset& host;
    nn::DeviceDataset dataset;
    std::vector<uint32_t> order;
    Buffer permutation;
    Buffer clock;
    nn::Tensor x;
    Buffer labels;
    nn::ClockState state;
  };

  struct Result {
    std::vector<float> x;          // the whole tensor, [max_batch, 1, rows, cols]
    std::vector<uint32_t> labels;  // [max_batch]
  };

  // Poisons the outputs (NaN, no label), runs, reads back.
  Result run(Program& program, Setup& s) {
    s.x.fill(std::bit_cast<float>(kNaN));
    device().fill(s.labels, kNoLabel);
    program.run();
    Result r{s.x.download(), std::vector<uint32_t>(s.labels.size() / 4)};
    device().download(s.labels, std::as_writable_bytes(std::span(r.labels)));
    return r;
  }
  Result run(const nn::GatherBatch& gather, Setup& s, uint32_t start, uint32_t n, bool rotate) {
    Graph g;
    gather.record(g, s.dataset, s.permutation, s.clock, start, n, rotate, s.x, s.labels);
    Program program(device(), g);
    return run(program, s);
  }

  // Checks samples [0, n) against the reference and [n, N) untouched.
  void check(const std::string& what, const Result& got, const Setup& s, uint32_t start, uint32_t n,
             bool rotate, const nn::GatherOptions& o, bool exact = false) {
    const auto& images = s.host.images;
    const size_t plane = size_t{images.rows} * images.cols;
    std::vector<float> want;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t index = s.order[start + i];
      const float degrees = rotate ? nn::reference::augmentation_angle(s.state.seed, s.state.epoch,
                                                                       index, o.max_degrees)
                                   : 0.0f;
      const nn::reference::Shift shift =
          rotate
              ? nn::reference::augmentation_shift(s.state.seed, s.state.epoch, index, o.max_shift)
              : nn::reference::Shift{};
      const auto image = std::span(images.pixels).subspan(index * plane, plane);
      const auto out = nn::reference::gather_image(image, images.rows, images.cols, degrees, o.mean,
                                                   o.std, shift);
      want.insert(want.end(), out.begin(), out.end());
      EXPECT_EQ(got.labels[i], s.host.labels.labels[index]) << what << ": label of sample " << i;
    }
    const auto head = std::span(got.x).first(want.size());
    EXPECT_TRUE(close(what, head, want, kKernelTolerance));
    if (exact) {
      EXPECT_TRUE(bitwise_equal(what + " (exact)", head, want));
    }
    for (size_t k = want.size(); k < got.x.size(); ++k) {
      ASSERT_TRUE(std::isnan(got.x[k])) << what << ": wrote element " << k << " past sample " << n;
    }
    for (size_t i = n; i < got.labels.size(); ++i) {
      ASSERT_EQ(got.labels[i], kNoLabel) << what << ": wrote label " << i << " past sample " << n;
    }
  }
};

TEST_F(GatherBatchTest, TrainingBatchesMatchReference) {
  const auto data = synthetic(300, 28, 28, 1);
  Setup s(device(), data, shuffled(300, 1), 128, {.epoch = 3, .steps_per_epoch = 3, .seed = 2024});
  const nn::GatherOptions o;
  const nn::GatherBatch gather(kernels(), 128, o);
  check("rotate batch 128", run(gather, s, 0, 128, true), s, 0, 128, true, o);
  check("rotate partial batch 44", run(gather, s, 256, 44, true), s, 256, 44, true, o);
  check("rotate batch 1", run(gather, s, 299, 1, true), s, 299, 1, true, o);
}

TEST_F(GatherBatchTest, ShiftedTrainingBatchesMatchReference) {
  const auto data = synthetic(300, 28, 28, 5);
  Setup s(device(), data, shuffled(300, 5), 64, {.epoch = 2, .steps_per_epoch = 5, .seed = 7});
  for (const uint32_t max_shift : {1u, 3u, 8u}) {
    const nn::GatherOptions o{.max_shift = max_shift};
    const nn::GatherBatch gather(kernels(), 64, o);
    const std::string what = fmt::format("rotate + shift {}", max_shift);
    check(what + " batch 64", run(gather, s, 0, 64, true), s, 0, 64, true, o);
    check(what + " partial batch 9", run(gather, s, 291, 9, true), s, 291, 9, true, o);
    check(what + " eval (no shift)", run(gather, s, 64, 64, false), s, 64, 64, false, o, true);
  }
}

TEST_F(GatherBatchTest, AwkwardImageSizeAndLargeAngles) {
  // 13x27: 351 bytes per image, so images and rows start mid-word.
  const auto data = synthetic(7, 13, 27, 2);
  Setup s(device(), data, shuffled(7, 2), 3, {.epoch = 1, .steps_per_epoch = 3, .seed = 99});
  const nn::GatherOptions o{.mean = 0.5f, .std = 0.25f, .max_degrees = 180.0f, .max_shift = 2};
  const nn::GatherBatch gather(kernels(), 3, o);
  check("13x27 rotate 180 shift 2", run(gather, s, 3, 3, true), s, 3, 3, true, o);
  check("13x27 eval", run(gather, s, 4, 3, false), s, 4, 3, false, o, true);
}

TEST_F(GatherBatchTest, EvaluationIsExactAndTheIdentityPermutationKeepsOrder) {
  const auto data = synthetic(200, 28, 28, 3);
  std::vector<uint32_t> identity(200);
  std::iota(identity.begin(), identity.end(), 0u);
  Setup s(device(), data, identity, 128, {.epoch = 0, .steps_per_epoch = 2, .seed = 7});
  const nn::GatherOptions o;
  const nn::GatherBatch gather(kernels(), 128, o);
  check("eval batch 128", run(gather, s, 0, 128, false), s, 0, 128, false, o, true);
  check("eval last batch 72", run(gather, s, 128, 72, false), s, 128, 72, false, o, true);
}

TEST_F(GatherBatchTest, DeterministicAndNewAnglesEachEpochFromOneProgram) {
  const auto data = synthetic(64, 28, 28, 4);
  Setup s(device(), data, shuffled(64, 4), 32, {.epoch = 0, .steps_per_epoch = 2, .seed = 11});
  const nn::GatherOptions o;
  const nn::GatherBatch gather(kernels(), 32, o);
  // Recorded once, replayed every epoch: only the clock buffer changes.
  Graph g;
  gather.record(g, s.dataset, s.permutation, s.clock, 32, 32, true, s.x, s.labels);
  Program program(device(), g);
  const Result first = run(program, s);
  check("epoch 0", first, s, 32, 32, true, o);
  EXPECT_TRUE(bitwise_equal("rerun", first.x, run(program, s).x));
  s.set_clock(device(), {.epoch = 1, .steps_per_epoch = 2, .seed = 11});
  const Result second = run(program, s);
  check("epoch 1", second, s, 32, 32, true, o);
  EXPECT_NE(std::memcmp(first.x.data(), second.x.data(), 32 * 784 * 4), 0)
      << "epoch 1 rotated like epoch 0";
}

// The real test digits: scripts/test fetches MNIST before testing (and the bundle carries the
// test set), so their absence is a failure, not a reason to pass.
TEST_F(GatherBatchTest, RealDigits) {
  const auto dir = source_dir() / "data" / "mnist";
  ASSERT_TRUE(std::filesystem::exists(dir / "t10k-images-idx3-ubyte") ||
              std::filesystem::exists(dir / "t10k-images-idx3-ubyte.gz"))
      << "no MNIST test set in " << dir << ": run scripts/fetch-mnist";
  nn::Dataset data = nn::load_mnist(dir, false);
  constexpr uint32_t kCount = 256;  // the first digits are enough
  data.images.count = data.labels.count = kCount;
  data.images.pixels.resize(kCount * 784);
  data.labels.labels.resize(kCount);
  Setup s(device(), data, shuffled(kCount, 5), 64, {.epoch = 5, .steps_per_epoch = 4, .seed = 1});
  const nn::GatherOptions o;
  const nn::GatherBatch gather(kernels(), 64, o);
  check("mnist rotate", run(gather, s, 64, 64, true), s, 64, 64, true, o);
  check("mnist eval", run(gather, s, 200, 56, false), s, 200, 56, false, o, true);
}

TEST_F(GatherBatchTest, RefusesBadArguments) {
  const auto data = synthetic(10, 28, 28, 6);
  Setup s(device(), data, shuffled(10, 6), 4, {});
  const nn::GatherBatch gather(kernels(), 4);
  Graph g;
  EXPECT_THROW(gather.record(g, s.dataset, s.permutation, s.clock, 0, 5, true, s.x, s.labels),
               Error);
  EXPECT_THROW(gather.record(g, s.dataset, s.permutation, s.clock, 8, 3, true, s.x, s.labels),
               Error);
  EXPECT_THROW(gather.record(g, s.dataset, s.permutation, s.clock, 0, 0, true, s.x, s.labels),
               Error);
  const nn::Tensor wrong(device(), {4, 1, 27, 28}, "wrong");
  EXPECT_THROW(gather.record(g, s.dataset, s.permutation, s.clock, 0, 4, true, wrong, s.labels),
               Error);
  EXPECT_THROW(nn::GatherBatch(kernels(), 4, {.max_degrees = 200.0f}), Error);
  EXPECT_THROW(nn::GatherBatch(kernels(), 4, {.max_shift = nn::GatherBatch::kMaxShift + 1}), Error);
  EXPECT_THROW(nn::GatherBatch(kernels(), 4, {.std = 0.0f}), Error);
  EXPECT_EQ(g.size(), 0u);
}

}  // namespace
}  // namespace vkm::test
