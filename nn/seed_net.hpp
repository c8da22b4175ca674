// The seed net of the normalization study as a table (DESIGN.md): nine bias-free convolutions,
// a normalization (+ dropout) + ReLU after the first eight, a 2x2 max-pool after conv3 and a
// global average pool before conv9. Both the device model (nn/model.hpp) and the CPU reference
// network (nn/reference/seed_net.hpp) are built from this one description.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nn/shape.hpp"

namespace vkm::nn {

// InstanceNorm is GroupNorm with one group per channel (DESIGN.md), as LayerNorm is GroupNorm
// with one group.
enum class NormKind { kBatch, kLayer, kGroup, kInstance };

// "bn", "ln", "gn", "in" (case-insensitive); throws std::invalid_argument listing the choices
// otherwise.
NormKind parse_norm(std::string_view text);
const char* norm_name(NormKind kind);       // "bn", "ln", "gn", "in"
const char* norm_long_name(NormKind kind);  // "BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm"

struct NetConfig {
  NormKind norm = NormKind::kBatch;
  uint32_t groups = 4;    // GroupNorm only; must divide every norm layer's channels (8, 16, 32)
  bool affine = true;     // per-channel scale and shift in every norm
  float dropout = 0.05f;  // after norm in blocks 3..8
  // Groups a norm layer of `channels` channels uses: 1 for LayerNorm, `groups` for GroupNorm,
  // one per channel for InstanceNorm.
  uint32_t norm_groups(uint32_t channels) const {
    return norm == NormKind::kLayer ? 1 : norm == NormKind::kInstance ? channels : groups;
  }
  // The groups as checkpoints record them: the count, or "channels" for InstanceNorm.
  std::string groups_text() const {
    return norm == NormKind::kInstance ? "channels" : std::to_string(norm_groups(0));
  }
};

// An impossible configuration: which field (NetConfig's name for it: "groups", "dropout") and
// what is wrong with its value ("3: GroupNorm's group count must divide ..."). The app says which
// option the field came from.
class InvalidNetConfig : public std::invalid_argument {
 public:
  InvalidNetConfig(std::string field, const std::string& what)
      : std::invalid_argument(what), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

// Throws InvalidNetConfig for an impossible configuration.
void validate(const NetConfig& config);

struct BlockSpec {
  std::string name;  // "conv1" ... "conv9"
  uint32_t c_in = 0;
  uint32_t c_out = 0;
  uint32_t k = 3;
  bool norm = true;      // norm + ReLU after the conv (all but conv9)
  bool dropout = false;  // dropout after the norm
  bool maxpool_after = false;
  bool avgpool_after = false;

  // The names and shapes every walk of the table uses (the device model, the reference network,
  // the summary, vkbench): one place, so they cannot disagree.
  std::string index() const { return name.substr(4); }  // "3" of "conv3"
  std::string norm_name() const { return "norm" + index(); }
  std::string dropout_name() const { return "dropout" + index(); }
  std::string relu_name() const { return "relu" + index(); }
  std::string pool_name() const {
    return maxpool_after ? "pool" + index() : avgpool_after ? "gap" : "";
  }
  // The conv's output for input `in` (valid padding, stride 1), and the block's output after its
  // pool.
  Shape conv_output(Shape in) const { return {in.n, c_out, in.h - k + 1, in.w - k + 1}; }
  Shape output(Shape in) const {
    const Shape s = conv_output(in);
    if (maxpool_after) return {s.n, s.c, s.h / 2, s.w / 2};
    if (avgpool_after) return {s.n, s.c, 1, 1};
    return s;
  }
};

constexpr uint32_t kImageSize = 28;
constexpr uint32_t kClasses = 10;

const std::vector<BlockSpec>& seed_net_blocks();

// One row per layer, like torchsummary: name, type, output shape (for batch 1), parameters.
struct SummaryRow {
  std::string name;
  std::string type;
  Shape output;
  size_t parameters = 0;
};
std::vector<SummaryRow> seed_net_summary(const NetConfig& config);
size_t seed_net_parameter_count(const NetConfig& config);

}  // namespace vkm::nn
