// A checkpoint written before the fused step still loads and scores the same: the BN+L1 model of
// the first study (tests/data/bn-2314b8d, trained for 20 epochs by vkmnist at 2314b8d, before
// texel reads, the fused dropout and the parameter buffers) evaluated on the MNIST test set gives
// exactly the accuracy its metrics.csv recorded, and the same loss to the six digits recorded.
// Needs data/mnist (scripts/test fetches it first).
#include <gtest/gtest.h>

#include <filesystem>

#include "nn/checkpoint.hpp"
#include "nn/data/idx.hpp"
#include "nn/trainer.hpp"
#include "tests/support/gpu_env.hpp"
#include "tests/support/source_dir.hpp"

namespace vkm::test {
namespace {

using CheckpointCompatTest = GpuTest;

TEST_F(CheckpointCompatTest, StudyModelScoresAsRecorded) {
  const std::filesystem::path root = source_dir();
  const auto data_dir = root / "data" / "mnist";
  ASSERT_TRUE(std::filesystem::exists(data_dir / "t10k-images-idx3-ubyte") ||
              std::filesystem::exists(data_dir / "t10k-images-idx3-ubyte.gz"))
      << "no MNIST test set in " << data_dir << ": run scripts/fetch-mnist";
  const nn::Dataset test = nn::load_mnist(data_dir, false);
  ASSERT_EQ(test.images.count, 10000u);

  nn::TrainConfig config;  // BN, affine, batch 128: as the study's BN model was trained
  config.net.norm = nn::NormKind::kBatch;
  config.epochs = 1;
  nn::Trainer trainer(device(), kernels(), config, test, test);
  const nn::Metadata meta =
      nn::load_model(root / "tests" / "data" / "bn-2314b8d" / "model.safetensors", trainer.model());
  EXPECT_EQ(meta.at("norm"), "bn");
  const nn::SplitMetrics m = trainer.evaluate();
  // tests/data/bn-2314b8d/metrics.csv, epoch 20: test loss 0.018936, accuracy 99.43.
  EXPECT_EQ(m.samples, 10000u);
  EXPECT_NEAR(m.accuracy, 99.43, 1e-9);
  EXPECT_NEAR(m.loss, 0.018936, 5e-7);
}

}  // namespace
}  // namespace vkm::test
