// The descriptor sets of a Program: one per distinct (set layout, view kind, buffers) among a
// graph's dispatches, so a step replicated over an epoch shares its sets. Each binding is its
// kernel's: a storage buffer, or a texel view where the kernel reads through one
// (KernelDesc::texel_reads), r32f or rgba32f (texel_vec4: the same layout, other views).
#pragma once

#include <map>
#include <vector>

#include "engine/handle.hpp"
#include "engine/node.hpp"
#include "engine/vulkan.hpp"

namespace vkm {

class DescriptorSets {
 public:
  DescriptorSets() = default;
  DescriptorSets(VkDevice device, const std::vector<Node>& nodes);

  // The set for a dispatch node of the graph it was made from.
  VkDescriptorSet at(const Node& dispatch) const;
  size_t size() const { return sets_.size(); }

 private:
  struct Key {
    VkDescriptorSetLayout layout;
    bool texel_vec4;
    std::vector<VkBuffer> buffers;
    auto operator<=>(const Key&) const = default;
  };
  static Key key_of(const Node& dispatch);

  Unique<VkDescriptorPool> pool_;
  std::map<Key, VkDescriptorSet> sets_;  // owned by pool_
};

}  // namespace vkm
