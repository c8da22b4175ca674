// Parameter: one trainable tensor of a layer (PyTorch name, value, gradient). Layers own their
// parameters; the optimizer and checkpoints reach them through Layer::parameters().
#pragma once

#include <string>

#include "nn/tensor.hpp"

namespace vkm::nn {

struct Parameter {
  Parameter(Device& device, std::string parameter_name, Shape shape)
      : name(std::move(parameter_name)),
        value(device, shape, name, Layout::kNCHW),
        grad(device, shape, name + ".grad", Layout::kNCHW) {}

  std::string name;  // e.g. "conv1.weight", "norm3.bias" (safetensors / PyTorch names)
  Tensor value;
  Tensor grad;  // written (not accumulated) by the layer's backward each step
};

}  // namespace vkm::nn
