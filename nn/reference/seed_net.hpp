// The seed net on the CPU, in double, built from the same table as the device model
// (nn/seed_net.hpp): the oracle for a whole training step (forward, loss, backward, SGD update).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "nn/reference/sgd.hpp"
#include "nn/seed_net.hpp"

namespace vkm::nn::reference {

struct NetState {
  // By PyTorch name: conv*.weight, norm*.weight, norm*.bias, norm*.running_mean, norm*.running_var.
  std::map<std::string, std::vector<double>> tensors;
  // SGD momentum buffers by parameter name.
  std::map<std::string, std::vector<double>> velocity;
};

struct StepOutput {
  double loss_sum = 0.0;  // sum over the batch of the per-sample NLL
  uint32_t correct = 0;
  std::vector<uint32_t> predictions;
  // How far a training step's forward pass stayed from the net's kinks, per block: the smallest
  // |pre-ReLU value| and the smallest gap between a max-pool window's largest and second-largest
  // input (windows with a positive maximum), each in units of the value's float32 error scale
  // (the layer's rms conv output times |gamma| * invstd of its channel or group). A float32
  // network whose values differ from this double one by more than the margin may take the other
  // side of a kink, and its gradients then differ discretely. Empty for eval_batch.
  std::vector<double> margins;
};

// x: [n, 1, 28, 28]; labels: [n]. Updates state (parameters, running statistics, velocities).
// The gradient is the mean cross-entropy's against labels smoothed by label_smoothing (0: the
// NLL's); loss_sum stays the plain NLL.
StepOutput train_step(const NetConfig& config, NetState& state, std::span<const float> x,
                      std::span<const uint32_t> labels, uint32_t n, const SgdHyper& sgd,
                      uint32_t seed, uint32_t global_step, double label_smoothing = 0.0);

// Inference: BN with running statistics, no dropout.
StepOutput eval_batch(const NetConfig& config, const NetState& state, std::span<const float> x,
                      std::span<const uint32_t> labels, uint32_t n);

}  // namespace vkm::nn::reference
