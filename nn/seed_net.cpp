// The seed net's table and its summary. Compiled into the reference library too (the CPU network
// is built from the same table), so it throws std::invalid_argument rather than the engine's error.
#include "nn/seed_net.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include <stdexcept>

namespace vkm::nn {

NormKind parse_norm(std::string_view text) {
  std::string t(text);
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "bn" || t == "batchnorm") return NormKind::kBatch;
  if (t == "ln" || t == "layernorm") return NormKind::kLayer;
  if (t == "gn" || t == "groupnorm") return NormKind::kGroup;
  if (t == "in" || t == "instancenorm") return NormKind::kInstance;
  throw std::invalid_argument(
      fmt::format("unknown norm '{}': choose bn (BatchNorm), ln (LayerNorm), gn (GroupNorm) or in "
                  "(InstanceNorm)",
                  text));
}

const char* norm_name(NormKind kind) {
  switch (kind) {
    case NormKind::kBatch:
      return "bn";
    case NormKind::kLayer:
      return "ln";
    case NormKind::kGroup:
      return "gn";
    case NormKind::kInstance:
      return "in";
  }
  return "?";
}

const char* norm_long_name(NormKind kind) {
  switch (kind) {
    case NormKind::kBatch:
      return "BatchNorm";
    case NormKind::kLayer:
      return "LayerNorm";
    case NormKind::kGroup:
      return "GroupNorm";
    case NormKind::kInstance:
      return "InstanceNorm";
  }
  return "?";
}

const std::vector<BlockSpec>& seed_net_blocks() {
  static const std::vector<BlockSpec> blocks = {
      {"conv1", 1, 8, 3, true, false, false, false},
      {"conv2", 8, 8, 3, true, false, false, false},
      {"conv3", 8, 8, 3, true, true, true, false},
      {"conv4", 8, 16, 3, true, true, false, false},
      {"conv5", 16, 16, 3, true, true, false, false},
      {"conv6", 16, 8, 1, true, true, false, false},
      {"conv7", 8, 32, 3, true, true, false, false},
      {"conv8", 32, 16, 1, true, true, false, true},
      {"conv9", 16, 10, 1, false, false, false, false},
  };
  return blocks;
}

void validate(const NetConfig& config) {
  if (config.norm == NormKind::kGroup) {
    for (const auto& b : seed_net_blocks()) {
      if (b.norm && (config.groups == 0 || b.c_out % config.groups != 0)) {
        throw InvalidNetConfig("groups",
                               fmt::format("{}: GroupNorm's group count must divide every "
                                           "norm layer's channels (8, 16, 32): use 1, "
                                           "2, 4 or 8",
                                           config.groups));
      }
    }
  }
  if (!(config.dropout >= 0.0f && config.dropout < 1.0f)) {
    throw InvalidNetConfig("dropout", fmt::format("{}: must be in [0, 1)", config.dropout));
  }
}

std::vector<SummaryRow> seed_net_summary(const NetConfig& config) {
  std::vector<SummaryRow> rows;
  Shape s{1, 1, kImageSize, kImageSize};
  for (const auto& b : seed_net_blocks()) {
    s = b.conv_output(s);
    rows.push_back({b.name, fmt::format("Conv2d {}x{}, {}->{}", b.k, b.k, b.c_in, b.c_out), s,
                    size_t{b.c_out} * b.c_in * b.k * b.k});
    if (b.norm) {
      std::string type = norm_long_name(config.norm);
      if (config.norm == NormKind::kGroup) type += fmt::format(" ({} groups)", config.groups);
      rows.push_back({b.norm_name(), type, s, config.affine ? 2 * size_t{b.c_out} : 0});
      if (b.dropout)
        rows.push_back({b.dropout_name(), fmt::format("Dropout p={:g}", config.dropout), s, 0});
      rows.push_back({b.relu_name(), "ReLU", s, 0});
    }
    if (b.maxpool_after) {
      s = {1, s.c, s.h / 2, s.w / 2};
      rows.push_back({b.pool_name(), "MaxPool2d 2x2", s, 0});
    }
    if (b.avgpool_after) {
      s = {1, s.c, 1, 1};
      rows.push_back({b.pool_name(), "AvgPool (global)", s, 0});
    }
  }
  rows.push_back({"log_softmax", "LogSoftmax", {1, kClasses, 1, 1}, 0});
  return rows;
}

size_t seed_net_parameter_count(const NetConfig& config) {
  size_t total = 0;
  for (const auto& row : seed_net_summary(config)) total += row.parameters;
  return total;
}

}  // namespace vkm::nn
