// Building the seed net's layers and recording its training step and evaluation.
#include "nn/model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <random>
#include <span>

#include "engine/error.hpp"
#include "nn/clock.hpp"
#include "nn/layers/batchnorm2d.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/groupnorm.hpp"
#include "nn/layers/loss.hpp"
#include "nn/layers/pool.hpp"
#include "nn/layers/sgd.hpp"

namespace vkm::nn {

// One row of the table: conv -> [norm + ReLU (+ dropout)] -> [max-pool | global avg-pool], with
// each stage's output and its gradient ([max_batch, C, H, W] each). The norm's output (ReLU'd,
// and in training dropped) is never stored: the layer that reads it (the next conv, a pool)
// applies the norm to z as it loads it (NormApply), its backward goes on through the ReLU and
// dropout and finishes the norm's backward sums, and the norm's own backward is one pass.
struct Block {
  BlockSpec spec;
  Conv2d conv;
  std::optional<BatchNorm2d> bn;
  std::optional<GroupNorm> gn;
  std::optional<MaxPool2d> maxpool;
  std::optional<AvgPoolGlobal> avgpool;
  Tensor z;                  // conv output
  std::optional<Tensor> dz;  // its gradient, without a norm (with one, never stored: below)
  // The gradient reaching the norm's normalized value: its reader's backward went on through the
  // ReLU and dropout, and the conv's backward turns it into the gradient of z as it reads it.
  std::optional<Tensor> da;
  std::optional<Tensor> p, dp;  // pool output

  Block(Device& device, KernelCache& kernels, const BlockSpec& s, const NetConfig& config, Shape in,
        uint32_t salt)
      : spec(s),
        conv(device, kernels, s.name, in, s.c_out, s.k, 0),
        z(device, conv.output_shape(), s.name + ".out") {
    const Shape shape = conv.output_shape();
    if (!s.norm) dz.emplace(device, shape, s.name + ".out.grad");
    if (s.norm) {
      const std::string name = s.norm_name();
      const FusedDropout dropout{s.dropout ? config.dropout : 0.0f, salt};
      if (config.norm == NormKind::kBatch) {
        bn.emplace(device, kernels, name, shape, config.affine, true, dropout);
      } else {
        gn.emplace(device, kernels, name, shape, config.norm_groups(shape.c), config.affine, true,
                   dropout);
      }
      da.emplace(device, shape, name + ".out.grad");
      conv.apply_output_norm(bn ? bn->stats() : gn->stats());
    }
    if (s.maxpool_after) {
      maxpool.emplace(kernels, shape);
      if (s.norm) maxpool->apply_input_norm(norm_apply(true), norm_apply(false));
      p.emplace(device, maxpool->output_shape(), s.pool_name() + ".out");
      dp.emplace(device, maxpool->output_shape(), s.pool_name() + ".out.grad");
    } else if (s.avgpool_after) {
      avgpool.emplace(kernels, shape);
      if (s.norm) avgpool->apply_input_norm(norm_apply(true), norm_apply(false));
      p.emplace(device, avgpool->output_shape(), s.pool_name() + ".out");
      dp.emplace(device, avgpool->output_shape(), s.pool_name() + ".out.grad");
    }
  }

  // The norm as its reader applies it (training or eval).
  NormApply norm_apply(bool train) const { return bn ? bn->apply(train) : gn->apply(train); }
  // The next block's conv applies this block's norm: there is a norm and no pool between (else
  // the pool applies it).
  bool norm_applied_by_next() const { return spec.norm && !p; }

  // The tensor the next block reads (z where it applies the norm itself), and the gradient of it
  // the next block writes.
  const Tensor& output() const { return p ? *p : z; }
  const Tensor& output_grad() const { return dp ? *dp : da ? *da : *dz; }
  Shape output_shape() const { return p ? p->shape() : z.shape(); }
};

Model::Model(Device& device, KernelCache& kernels, const NetConfig& config, uint32_t max_batch,
             const UpdateConfig& update)
    : device_(device), config_(config), max_batch_(max_batch) {
  validate(config);
  if (max_batch == 0) throw Error("batch size must be at least 1");
  input_ = std::make_unique<Tensor>(device, Shape{max_batch, 1, kImageSize, kImageSize}, "input");
  labels_ = device.buffer(size_t{max_batch} * sizeof(uint32_t), "labels");
  Shape in = input_->shape();
  uint32_t salt = 0;
  for (const auto& spec : seed_net_blocks()) {
    blocks_.push_back(std::make_unique<Block>(device, kernels, spec, config, in, salt++));
    if (blocks_.size() > 1 && blocks_[blocks_.size() - 2]->norm_applied_by_next()) {
      const Block& before = *blocks_[blocks_.size() - 2];
      blocks_.back()->conv.apply_input_norm(before.norm_apply(true), before.norm_apply(false));
    }
    in = blocks_.back()->output_shape();
  }
  const Shape logits = blocks_.back()->z.shape();
  log_probs_ = std::make_unique<Tensor>(device, logits, "log_probs");
  dlogits_ = std::make_unique<Tensor>(device, logits, "logits.grad");
  train_predictions_ = device.buffer(size_t{max_batch} * sizeof(uint32_t), "train predictions");
  loss_ = std::make_unique<LogSoftmaxNll>(kernels, max_batch, kClasses);
  sgd_ = std::make_unique<Sgd>(kernels, update.momentum, update.l2, update.l1);
  label_smoothing_ = update.label_smoothing;  // checked by loss_ as the warm-up below records
  gather_parameters();
  // The layers make their pipelines on first use: record a training step and an eval batch into
  // a graph that is dropped, so that the model is ready to run (and a cold start is paid) here.
  const Buffer scratch = device.buffer(
      std::max<size_t>(sizeof(ClockState), size_t{max_batch} * 2 * sizeof(uint32_t)), "scratch");
  Graph graph;
  record_train_step(graph, scratch, scratch, scratch, 0, max_batch);
  record_eval(graph, scratch, 0, scratch, 0, max_batch);
}

Model::~Model() = default;

void Model::gather_parameters() {
  const VkDeviceSize align = device_.allocator().buffer_alignment();
  std::vector<VkDeviceSize> offsets;
  VkDeviceSize bytes = 0;
  for (Parameter* p : parameters()) {
    offsets.push_back(bytes);
    bytes += (p->value.numel() * sizeof(float) + align - 1) / align * align;
  }
  values_ = device_.buffer(bytes, "parameters");
  grads_ = device_.buffer(bytes, "gradients");
  velocities_ = device_.buffer(bytes, "momentum");
  for (const Buffer* b : {&values_, &grads_, &velocities_}) device_.fill(*b, 0);
  size_t i = 0;
  for (Parameter* p : parameters()) {
    const Shape shape = p->value.shape();
    const VkDeviceSize size = shape.numel() * sizeof(float);
    p->value = Tensor(device_, shape, Buffer::alias(values_, offsets[i], size, p->name));
    p->grad = Tensor(device_, shape, Buffer::alias(grads_, offsets[i], size, p->name + ".grad"));
    velocity_.emplace_back(device_, shape,
                           Buffer::alias(velocities_, offsets[i], size, p->name + ".momentum"));
    ++i;
  }

  // The convs' weight partials, one buffer; then the update's segment per parameter.
  std::vector<VkDeviceSize> partial_offsets;
  VkDeviceSize partial_bytes = 0;
  for (const auto& b : blocks_) {
    partial_offsets.push_back(partial_bytes);
    partial_bytes += (b->conv.weight_partials().bytes + align - 1) / align * align;
  }
  weight_partials_ = device_.buffer(partial_bytes, "weight partials");
  std::vector<SgdSegment> segments;
  i = 0;
  for (Parameter* p : parameters()) {
    SgdSegment s{.offset = static_cast<uint32_t>(offsets[i++] / sizeof(float)),
                 .count = static_cast<uint32_t>(p->value.numel())};
    for (size_t k = 0; k < blocks_.size(); ++k) {
      if (&blocks_[k]->conv.weight() != p) continue;
      const WeightPartials w = blocks_[k]->conv.weight_partials();
      blocks_[k]->conv.share_weight_partials(
          Buffer::alias(weight_partials_, partial_offsets[k], w.bytes, p->name + " partials"));
      s.take_partials(static_cast<uint32_t>(partial_offsets[k] / sizeof(float)), w);
    }
    largest_parameter_ = std::max(largest_parameter_, s.count);
    segments.push_back(s);
  }
  segment_count_ = static_cast<uint32_t>(segments.size());
  update_segments_ = device_.buffer(segments.size() * sizeof(SgdSegment), "update segments");
  device_.upload(update_segments_, std::as_bytes(std::span(segments)));
}

std::vector<Parameter*> Model::parameters() {
  std::vector<Parameter*> out;
  for (auto& b : blocks_) {
    for (Parameter* p : b->conv.parameters()) out.push_back(p);
    if (b->bn) {
      for (Parameter* p : b->bn->parameters()) out.push_back(p);
    }
    if (b->gn) {
      for (Parameter* p : b->gn->parameters()) out.push_back(p);
    }
  }
  return out;
}

std::vector<std::pair<std::string, const Tensor*>> Model::state() const {
  std::vector<std::pair<std::string, const Tensor*>> out;
  for (Parameter* p : const_cast<Model*>(this)->parameters()) out.emplace_back(p->name, &p->value);
  for (const auto& b : blocks_) {
    if (b->bn) {
      const std::string name = b->spec.norm_name();
      out.emplace_back(name + ".running_mean", &b->bn->running_mean());
      out.emplace_back(name + ".running_var", &b->bn->running_var());
    }
  }
  return out;
}

size_t Model::parameter_count() const {
  size_t total = 0;
  for (Parameter* p : const_cast<Model*>(this)->parameters()) total += p->value.numel();
  return total;
}

void Model::initialize(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (Parameter* p : parameters()) {
    const Shape& s = p->value.shape();
    std::vector<float> values(s.numel());
    if (p->name.ends_with(".weight") && p->name.rfind("conv", 0) == 0) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(s.c * s.h * s.w));  // fan_in
      std::uniform_real_distribution<double> dist(-bound, bound);
      for (auto& v : values) v = static_cast<float>(dist(rng));
    } else {
      std::fill(values.begin(), values.end(), p->name.ends_with(".weight") ? 1.0f : 0.0f);
    }
    p->value.upload(values);
  }
  for (const auto& b : blocks_) {
    if (b->bn) {
      b->bn->running_mean().fill(0.0f);
      b->bn->running_var().fill(1.0f);
    }
  }
  reset_optimizer();
}

void Model::reset_optimizer() {
  for (const Tensor& v : velocity_) v.fill(0.0f);
}

void Model::record_forward(Graph& graph, bool train, const Buffer* clock, uint32_t step,
                           uint32_t n) const {
  const Tensor* x = input_.get();
  const InputNormStep in{.train = train, .clock = clock, .step = step};
  for (const auto& b : blocks_) {
    // The conv writes the norm's plane statistics as it writes z and finishes them (BatchNorm
    // needs them only in training; GroupNorm always).
    const NormStats stats = b->gn ? b->gn->stats() : b->bn && train ? b->bn->stats() : NormStats{};
    b->conv.record_forward(graph, *x, b->z, n, &stats, in);
    if (b->maxpool) b->maxpool->record_forward(graph, b->z, *b->p, n, in);
    if (b->avgpool) b->avgpool->record_forward(graph, b->z, *b->p, n, in);
    x = &b->output();
  }
}

void Model::record_train_step(Graph& graph, const Buffer& clock, const Buffer& lr_schedule,
                              const Buffer& stats, uint32_t step, uint32_t n) const {
  if (n == 0 || n > max_batch_)
    throw Error(fmt::format("batch of {} (model built for 1..{})", n, max_batch_));
  record_forward(graph, true, &clock, step, n);
  const Tensor& logits = blocks_.back()->z;
  loss_->record_forward(graph, logits, labels_, *log_probs_, stats, step, train_predictions_, 0, n,
                        &*blocks_.back()->dz, label_smoothing_);

  const InputNormStep in{.train = true, .clock = &clock, .step = step};
  for (size_t i = blocks_.size(); i-- > 0;) {
    const Block& b = *blocks_[i];
    const Tensor& grad = b.da ? *b.da : *b.dz;  // reaching the normalized value, or of z
    if (b.avgpool) b.avgpool->record_backward(graph, b.z, *b.dp, grad, n, in);
    if (b.maxpool) b.maxpool->record_backward(graph, b.z, *b.dp, grad, n, in);
    // The layer that read the norm's output went on through its ReLU and dropout and wrote and
    // finished the norm's backward sums; the conv applies the rest of the norm's backward to
    // that gradient as it reads it (apply_output_norm), so the norm records nothing here.
    const Tensor& x = i == 0 ? *input_ : blocks_[i - 1]->output();
    const Tensor* dx = i == 0 ? nullptr : &blocks_[i - 1]->output_grad();
    b.conv.record_backward(graph, x, grad, dx, n, /*reduce_weight=*/false, in, &b.z);
  }

  // One dispatch: every parameter, the convs' weight gradients reduced from their partials.
  sgd_->record_update(graph, values_, grads_, velocities_, weight_partials_, update_segments_,
                      segment_count_, largest_parameter_, lr_schedule, clock, step,
                      "sgd_update_segments (every parameter)");
}

void Model::record_eval(Graph& graph, const Buffer& stats, uint32_t slot, const Buffer& predictions,
                        uint32_t offset, uint32_t n) const {
  if (n == 0 || n > max_batch_)
    throw Error(fmt::format("batch of {} (model built for 1..{})", n, max_batch_));
  record_forward(graph, false, nullptr, 0, n);
  loss_->record_forward(graph, blocks_.back()->z, labels_, *log_probs_, stats, slot, predictions,
                        offset, n);
}

}  // namespace vkm::nn
