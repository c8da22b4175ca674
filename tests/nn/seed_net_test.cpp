// The seed net's table: output shapes and parameter counts as DESIGN.md gives them.
#include <gtest/gtest.h>

#include <stdexcept>
#include "nn/seed_net.hpp"

namespace vkm::nn {
namespace {

TEST(SeedNet, ParameterCountsForEveryNormWithAndWithoutAffine) {
  for (NormKind norm : {NormKind::kBatch, NormKind::kLayer, NormKind::kGroup}) {
    NetConfig config{.norm = norm};
    EXPECT_EQ(seed_net_parameter_count(config), 8008u) << norm_name(norm);
    config.affine = false;
    EXPECT_EQ(seed_net_parameter_count(config), 7784u) << norm_name(norm);
  }
}

TEST(SeedNet, OutputShapesFollowTheTable) {
  const auto rows = seed_net_summary({});
  auto shape_of = [&](const std::string& name) {
    for (const auto& r : rows) {
      if (r.name == name) return r.output;
    }
    ADD_FAILURE() << "no layer " << name;
    return Shape{};
  };
  EXPECT_EQ(shape_of("conv1"), (Shape{1, 8, 26, 26}));
  EXPECT_EQ(shape_of("conv3"), (Shape{1, 8, 22, 22}));
  EXPECT_EQ(shape_of("pool3"), (Shape{1, 8, 11, 11}));
  EXPECT_EQ(shape_of("conv6"), (Shape{1, 8, 7, 7}));
  EXPECT_EQ(shape_of("conv7"), (Shape{1, 32, 5, 5}));
  EXPECT_EQ(shape_of("gap"), (Shape{1, 16, 1, 1}));
  EXPECT_EQ(shape_of("conv9"), (Shape{1, 10, 1, 1}));
  size_t conv_weights = 0;
  for (const auto& r : rows) {
    if (r.name.rfind("conv", 0) == 0) conv_weights += r.parameters;
  }
  EXPECT_EQ(conv_weights, 7784u);
}

TEST(SeedNet, GroupsMustDivideEveryNormLayer) {
  for (uint32_t g : {1u, 2u, 4u, 8u}) {
    EXPECT_NO_THROW(validate({.norm = NormKind::kGroup, .groups = g}));
  }
  for (uint32_t g : {0u, 3u, 5u, 16u, 32u}) {
    try {
      validate({.norm = NormKind::kGroup, .groups = g});
      ADD_FAILURE() << "groups " << g << " accepted";
    } catch (const InvalidNetConfig& e) {  // the field, not an option: the app names the flag
      EXPECT_EQ(e.field(), "groups");
      EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(validate({.norm = NormKind::kBatch, .groups = 3}));  // ignored unless gn
}

TEST(SeedNet, NormNamesParseAndUnknownOnesAreErrors) {
  EXPECT_EQ(parse_norm("bn"), NormKind::kBatch);
  EXPECT_EQ(parse_norm("LN"), NormKind::kLayer);
  EXPECT_EQ(parse_norm("groupnorm"), NormKind::kGroup);
  EXPECT_EQ(parse_norm("in"), NormKind::kInstance);
  EXPECT_EQ(parse_norm("InstanceNorm"), NormKind::kInstance);
  EXPECT_STREQ(norm_name(NormKind::kInstance), "in");
  EXPECT_THROW(parse_norm("xn"), std::invalid_argument);
  // InstanceNorm: one group per channel of each layer; LayerNorm one; GroupNorm its count.
  const NetConfig in{.norm = NormKind::kInstance, .groups = 4};
  EXPECT_EQ(in.norm_groups(16), 16u);
  EXPECT_EQ(in.groups_text(), "channels");
  EXPECT_EQ((NetConfig{.norm = NormKind::kLayer}.norm_groups(16)), 1u);
  EXPECT_EQ((NetConfig{.norm = NormKind::kGroup, .groups = 2}.norm_groups(16)), 2u);
  EXPECT_EQ(seed_net_parameter_count(in), 8008u);
  EXPECT_THROW(validate({.dropout = 1.0f}), std::invalid_argument);
  EXPECT_THROW(validate({.dropout = -0.1f}), std::invalid_argument);
}

}  // namespace
}  // namespace vkm::nn
