// Model: the seed net on the device, built from the table in nn/seed_net.hpp. It owns the
// layers (and through them the parameters), the activations and their gradients at the maximum
// batch, the SGD velocities, and records one training step (forward, loss, backward, update) or
// one evaluation batch into a Graph. The training program is those steps, recorded once per run.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/device.hpp"
#include "engine/graph.hpp"
#include "engine/kernel.hpp"
#include "nn/parameter.hpp"
#include "nn/seed_net.hpp"
#include "nn/tensor.hpp"

namespace vkm::nn {

class LogSoftmaxNll;
class Sgd;
struct Block;

// Hyper-parameters of the training step besides the net, fixed for a run (the learning rate
// comes per step from a device buffer).
struct UpdateConfig {
  float momentum = 0.9f;
  float l2 = 0.0f;  // weight decay added to the gradient
  float l1 = 0.0f;  // lambda1 * sign(w) added to the gradient
  // The loss's target: (1 - label_smoothing) * onehot + label_smoothing / 10 (PyTorch's
  // cross_entropy label_smoothing); 0 trains on the plain NLL.
  float label_smoothing = 0.0f;
};

class Model {
 public:
  Model(Device& device, KernelCache& kernels, const NetConfig& config, uint32_t max_batch,
        const UpdateConfig& update);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const NetConfig& config() const { return config_; }
  uint32_t max_batch() const { return max_batch_; }

  // x [max_batch, 1, 28, 28] and labels uint32 [max_batch]: what each step reads (the data
  // gather writes them).
  const Tensor& input() const { return *input_; }
  const Buffer& labels() const { return labels_; }
  // log-softmax of the logits [max_batch, 10]: the last batch a recorded forward ran (after an
  // evaluation of one batch, that batch's class log-probabilities).
  const Tensor& log_probs() const { return *log_probs_; }

  // Every trainable parameter, in table order: conv1.weight, norm1.weight, norm1.bias, conv2...
  std::vector<Parameter*> parameters();
  // Everything a checkpoint holds, by PyTorch name: parameters, then BN running statistics.
  std::vector<std::pair<std::string, const Tensor*>> state() const;
  size_t parameter_count() const;

  // PyTorch's default initialisation (conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in)); norm weight 1,
  // bias 0; running mean 0, var 1), from `seed`; velocities zeroed.
  void initialize(uint64_t seed);
  // Zeroes the SGD velocities (a fresh optimizer).
  void reset_optimizer();
  const std::vector<Tensor>& velocities() const { return velocity_; }

  // One training step on the first n samples of input()/labels(): forward in training mode,
  // log-softmax + NLL (writes stats slot `step`: (sum NLL, correct)), backward, SGD update.
  // clock: nn::ClockState; lr_schedule: one float per global step.
  void record_train_step(Graph& graph, const Buffer& clock, const Buffer& lr_schedule,
                         const Buffer& stats, uint32_t step, uint32_t n) const;
  // Inference on the first n samples: BN uses running statistics, no dropout. Writes stats slot
  // `slot` and predictions[offset .. offset + n).
  void record_eval(Graph& graph, const Buffer& stats, uint32_t slot, const Buffer& predictions,
                   uint32_t offset, uint32_t n) const;

 private:
  void record_forward(Graph& graph, bool train, const Buffer* clock, uint32_t step,
                      uint32_t n) const;
  // Moves every parameter (and makes every velocity) into values_ / grads_ / velocities_, every
  // conv's weight partials into weight_partials_, and writes the update's segment table.
  void gather_parameters();

  Device& device_;
  NetConfig config_;
  uint32_t max_batch_;
  std::unique_ptr<Tensor> input_;
  Buffer labels_;
  // Every parameter's value, gradient and SGD velocity live in three buffers, each tensor a view
  // at the same offset in each (aligned; the gaps stay zero, which SGD keeps zero): one dispatch
  // updates them all. Declared before the layers, whose parameters are views into them.
  Buffer values_, grads_, velocities_;
  // Every conv's weight-gradient partial sums (each conv's partials are a view), which the single
  // update dispatch reduces, and its table of parameters (nn::SgdSegment, in parameters() order).
  Buffer weight_partials_, update_segments_;
  uint32_t segment_count_ = 0, largest_parameter_ = 0;
  std::vector<std::unique_ptr<Block>> blocks_;
  std::unique_ptr<Tensor> log_probs_;
  std::unique_ptr<Tensor> dlogits_;
  Buffer train_predictions_;  // scratch: training steps do not keep predictions
  std::unique_ptr<LogSoftmaxNll> loss_;
  std::unique_ptr<Sgd> sgd_;
  float label_smoothing_ = 0.0f;
  std::vector<Tensor> velocity_;  // one per parameter, in parameters() order: views of velocities_
};

}  // namespace vkm::nn
