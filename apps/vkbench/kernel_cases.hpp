// The cases of the kernel table, one per layer of the seed net (kernel_case.hpp says how each is
// run, checked and timed). Every case builds its layer for exactly `shape` (N = the batch).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/vkbench/bench_context.hpp"
#include "apps/vkbench/report.hpp"
#include "nn/layers/conv2d.hpp"
#include "nn/layers/norm_affine.hpp"
#include "nn/seed_net.hpp"
#include "nn/shape.hpp"

namespace vkbench {

// conv forward; backward to the input (unless first: the net's input needs no gradient) and to
// the weight (its partial sums; the update reduces them, so the layout of those goes to
// `partials`, for sgd_case), as the training step records them. in: [N, c_in, H, W].
std::vector<KernelRow> conv_case(const BenchContext& ctx, const nn::BlockSpec& spec, nn::Shape in,
                                 bool first, nn::WeightPartials& partials);

// A norm with fused ReLU and, where the net has one, fused dropout (as in the net): training
// forward and backward. shape: [N, C, H, W].
std::vector<KernelRow> norm_case(const BenchContext& ctx, const std::string& layer,
                                 nn::NormKind norm, uint32_t groups, nn::Shape shape,
                                 nn::FusedDropout dropout);

// 2x2 max pooling, forward and backward. shape: its input.
std::vector<KernelRow> maxpool_case(const BenchContext& ctx, const std::string& layer,
                                    nn::Shape shape);

// Global average pooling, forward and backward. shape: its input.
std::vector<KernelRow> avgpool_case(const BenchContext& ctx, const std::string& layer,
                                    nn::Shape shape);

// Log-softmax + NLL forward and backward over [N, classes] logits.
std::vector<KernelRow> loss_case(const BenchContext& ctx, uint32_t batch, uint32_t classes);

// A parameter of the update: its shape and, for a conv weight, the layout of the partial sums its
// backward pass leaves (the update reduces them, as nn::Model's does).
struct UpdatedParameter {
  nn::Shape shape;
  std::optional<nn::WeightPartials> partials;
};

// SGD with momentum, L2 and L1 over every parameter in one dispatch, reducing the conv weights'
// gradients from their partial sums on the way (sgd_update_segments, as nn::Model records it).
std::vector<KernelRow> sgd_case(const BenchContext& ctx,
                                const std::vector<UpdatedParameter>& parameters);

}  // namespace vkbench
