// Descriptor sets shared by identical bindings, written once.
#include "engine/descriptor_sets.hpp"

#include <bit>

#include "engine/error.hpp"

namespace vkm {

DescriptorSets::Key DescriptorSets::key_of(const Node& n) {
  Key key{n.kernel->set_layout(), n.kernel->desc().texel_vec4, {}};
  for (const Binding& b : n.bindings) key.buffers.push_back(b.buffer->get());
  return key;
}

DescriptorSets::DescriptorSets(VkDevice vk, const std::vector<Node>& nodes) {
  std::map<Key, const Node*> first;  // the first node with each key
  uint32_t storage_descriptors = 0, texel_descriptors = 0;
  for (const Node& n : nodes) {
    if (n.kind != Node::Kind::kDispatch) continue;
    if (first.try_emplace(key_of(n), &n).second) {
      const uint32_t texel = static_cast<uint32_t>(std::popcount(n.kernel->desc().texel_reads));
      texel_descriptors += texel;
      storage_descriptors += static_cast<uint32_t>(n.bindings.size()) - texel;
    }
  }
  if (first.empty()) return;
  std::vector<VkDescriptorPoolSize> pool_sizes;
  if (storage_descriptors > 0)
    pool_sizes.push_back({VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, storage_descriptors});
  if (texel_descriptors > 0)
    pool_sizes.push_back({VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, texel_descriptors});
  if (pool_sizes.empty()) pool_sizes.push_back({VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1});
  VkDescriptorPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pool_info.maxSets = static_cast<uint32_t>(first.size());
  pool_info.poolSizeCount = static_cast<uint32_t>(pool_sizes.size());
  pool_info.pPoolSizes = pool_sizes.data();
  VkDescriptorPool pool = VK_NULL_HANDLE;
  VKM_CHECK(vkCreateDescriptorPool(vk, &pool_info, nullptr, &pool));
  pool_ = Unique<VkDescriptorPool>(vk, pool, vkDestroyDescriptorPool);

  for (const auto& [key, node] : first) {
    VkDescriptorSet set = VK_NULL_HANDLE;
    VkDescriptorSetAllocateInfo alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    alloc.descriptorPool = pool;
    alloc.descriptorSetCount = 1;
    alloc.pSetLayouts = &key.layout;
    VKM_CHECK(vkAllocateDescriptorSets(vk, &alloc, &set));
    const uint32_t texel_reads = node->kernel->desc().texel_reads;
    const size_t count = key.buffers.size();
    std::vector<VkDescriptorBufferInfo> buffer_infos(count);
    std::vector<VkBufferView> views(count, VK_NULL_HANDLE);
    std::vector<VkWriteDescriptorSet> writes(count);
    for (size_t i = 0; i < count; ++i) {
      writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
      writes[i].dstSet = set;
      writes[i].dstBinding = static_cast<uint32_t>(i);
      writes[i].descriptorCount = 1;
      if ((texel_reads >> i) & 1u) {
        views[i] = node->bindings[i].buffer->texel_view(key.texel_vec4);
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
        writes[i].pTexelBufferView = &views[i];
      } else {
        buffer_infos[i] = {key.buffers[i], 0, VK_WHOLE_SIZE};
        writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
        writes[i].pBufferInfo = &buffer_infos[i];
      }
    }
    vkUpdateDescriptorSets(vk, static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);
    sets_.emplace(key, set);
  }
}

VkDescriptorSet DescriptorSets::at(const Node& dispatch) const {
  return sets_.at(key_of(dispatch));
}

}  // namespace vkm
