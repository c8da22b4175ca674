// Hazard levels, barrier placement, chunked recording and timeline-semaphore replay.
#include "engine/graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "engine/device.hpp"
#include "engine/error.hpp"

namespace vkm {

// ---------------------------------------------------------------------------------------------
// Graph

void Graph::dispatch_bytes(const Kernel& kernel, std::vector<Binding> bindings,
                           std::span<const std::byte> push, std::array<uint32_t, 3> elements,
                           std::string label) {
  const KernelDesc& desc = kernel.desc();
  if (bindings.size() != desc.bindings) {
    throw Error(fmt::format("dispatch of {}: {} buffers bound, the kernel has {} bindings",
                            desc.shader, bindings.size(), desc.bindings));
  }
  if (push.size() != desc.push_constant_bytes) {
    throw Error(fmt::format("dispatch of {}: {} push-constant bytes, the kernel declares {}",
                            desc.shader, push.size(), desc.push_constant_bytes));
  }
  Node node;
  node.kind = Node::Kind::kDispatch;
  node.label = label.empty() ? desc.shader : std::move(label);
  node.kernel = &kernel;
  node.bindings = std::move(bindings);
  node.push.resize(push.size() / 4);
  if (!push.empty()) std::memcpy(node.push.data(), push.data(), push.size());  // none: null spans
  for (int i = 0; i < 3; ++i) {
    const uint32_t tile = desc.local_size[i];
    node.groups[i] = std::max(1u, (elements[i] + tile - 1) / tile);
  }
  for (size_t i = 0; i < node.bindings.size(); ++i) {
    const Binding& b = node.bindings[i];
    if (b.buffer == nullptr || b.buffer->get() == VK_NULL_HANDLE) {
      throw Error(fmt::format("dispatch of {}: a binding has no buffer", desc.shader));
    }
    if (((desc.texel_reads >> i) & 1u) && b.access != Access::kRead) {
      throw Error(fmt::format("dispatch of {}: binding {} ('{}') is a texel read but is written",
                              desc.shader, i, b.buffer->name()));
    }
  }
  nodes_.push_back(std::move(node));
}

void Graph::describe_work(uint64_t macs, uint64_t serial_macs) {
  if (nodes_.empty() || nodes_.back().kind != Node::Kind::kDispatch) {
    throw Error("Graph::describe_work: the last node is not a dispatch");
  }
  nodes_.back().macs = macs;
  nodes_.back().serial_macs = serial_macs;
}

void Graph::fill(const Buffer& dst, uint32_t word, std::string label) {
  Node node;
  node.kind = Node::Kind::kFill;
  node.label = label.empty() ? "fill " + dst.name() : std::move(label);
  node.bindings = {writes(dst)};
  node.fill_word = word;
  nodes_.push_back(std::move(node));
}

void Graph::copy(const Buffer& src, const Buffer& dst, std::string label) {
  if (dst.size() < src.size()) {
    throw Error(fmt::format("copy of '{}' ({} bytes) into smaller '{}' ({} bytes)", src.name(),
                            src.size(), dst.name(), dst.size()));
  }
  Node node;
  node.kind = Node::Kind::kCopy;
  node.label = label.empty() ? "copy " + src.name() : std::move(label);
  node.bindings = {reads(src), writes(dst)};
  nodes_.push_back(std::move(node));
}

void Graph::append(const Graph& other) {
  nodes_.insert(nodes_.end(), other.nodes_.begin(), other.nodes_.end());
}

Graph Graph::compile_run() const {
  Graph g;
  std::unordered_set<const Kernel*> seen;
  for (const Node& n : nodes_) {
    if (n.kind != Node::Kind::kDispatch || !seen.insert(n.kernel).second) continue;
    g.nodes_.push_back(n);
    g.nodes_.back().groups = {0, 0, 0};
  }
  return g;
}

// ---------------------------------------------------------------------------------------------
// Program

namespace {

// Level of each node: one past the deepest earlier node it conflicts with on any buffer.
std::vector<size_t> hazard_levels(const std::vector<Node>& nodes, bool serialize) {
  struct BufferState {
    long last_write = -1;  // level of the last writer
    long last_read = -1;   // deepest reader since that write
  };
  std::unordered_map<VkBuffer, BufferState> state;
  std::vector<size_t> levels(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    long level = serialize ? static_cast<long>(i) : 0;
    for (const Binding& b : nodes[i].bindings) {
      const BufferState& s = state[b.buffer->hazard_key()];
      level = std::max(level, s.last_write + 1);                                // RAW, WAW
      if (b.access != Access::kRead) level = std::max(level, s.last_read + 1);  // WAR
    }
    for (const Binding& b : nodes[i].bindings) {
      BufferState& s = state[b.buffer->hazard_key()];
      if (b.access == Access::kRead) {
        s.last_read = std::max(s.last_read, level);
      } else {
        s.last_write = level;
        s.last_read = -1;
      }
    }
    levels[i] = static_cast<size_t>(level);
  }
  return levels;
}

// At the end of each chunk: the chunk's writes become visible to the host once the host has
// waited for the chunk's timeline value (progress reads of host-visible buffers).
void record_host_barrier(VkCommandBuffer cmd) {
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

void record_barrier(VkCommandBuffer cmd) {
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                          VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  const VkPipelineStageFlags stages =
      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(cmd, stages, stages, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

}  // namespace

Program::Program(Device& device, const Graph& graph, RecordOptions options)
    : device_(device), options_(options) {
  const auto& nodes = graph.nodes();
  const VkDevice vk = device.get();

  // Order: by level, insertion order within a level (stable).
  const std::vector<size_t> level = hazard_levels(nodes, options.profile);
  std::vector<size_t> order(nodes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return level[a] < level[b]; });
  levels_ = nodes.empty() ? 0 : level[order.back()] + 1;

  // Descriptor sets, one per distinct (layout, buffers): a replicated step shares its sets.
  // Each key's bindings are its kernel's: storage buffers, or texel views where the kernel reads
  // through them (KernelDesc::texel_reads), r32f or rgba32f (texel_vec4: same layout, other views).
  struct SetKey {
    VkDescriptorSetLayout layout;
    bool texel_vec4;
    std::vector<VkBuffer> buffers;
    auto operator<=>(const SetKey&) const = default;
  };
  struct SetInfo {
    VkDescriptorSet set = VK_NULL_HANDLE;
    const Node* node = nullptr;  // the first node with this key
  };
  std::map<SetKey, SetInfo> sets;
  uint32_t storage_descriptors = 0, texel_descriptors = 0;
  for (const Node& n : nodes) {
    if (n.kind != Node::Kind::kDispatch) continue;
    SetKey key{n.kernel->set_layout(), n.kernel->desc().texel_vec4, {}};
    for (const Binding& b : n.bindings) key.buffers.push_back(b.buffer->get());
    if (sets.try_emplace(key, SetInfo{VK_NULL_HANDLE, &n}).second) {
      const uint32_t texel = static_cast<uint32_t>(std::popcount(n.kernel->desc().texel_reads));
      texel_descriptors += texel;
      storage_descriptors += static_cast<uint32_t>(n.bindings.size()) - texel;
    }
  }
  descriptor_sets_ = sets.size();
  if (!sets.empty()) {
    std::vector<VkDescriptorPoolSize> pool_sizes;
    if (storage_descriptors > 0)
      pool_sizes.push_back({VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, storage_descriptors});
    if (texel_descriptors > 0)
      pool_sizes.push_back({VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, texel_descriptors});
    if (pool_sizes.empty()) pool_sizes.push_back({VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1});
    VkDescriptorPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pool_info.maxSets = static_cast<uint32_t>(sets.size());
    pool_info.poolSizeCount = static_cast<uint32_t>(pool_sizes.size());
    pool_info.pPoolSizes = pool_sizes.data();
    VkDescriptorPool pool = VK_NULL_HANDLE;
    VKM_CHECK(vkCreateDescriptorPool(vk, &pool_info, nullptr, &pool));
    descriptor_pool_ = Unique<VkDescriptorPool>(vk, pool, vkDestroyDescriptorPool);
    for (auto& [key, info] : sets) {
      VkDescriptorSetAllocateInfo alloc{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
      alloc.descriptorPool = pool;
      alloc.descriptorSetCount = 1;
      alloc.pSetLayouts = &key.layout;
      VKM_CHECK(vkAllocateDescriptorSets(vk, &alloc, &info.set));
      const uint32_t texel_reads = info.node->kernel->desc().texel_reads;
      const size_t count = key.buffers.size();
      std::vector<VkDescriptorBufferInfo> buffer_infos(count);
      std::vector<VkBufferView> views(count, VK_NULL_HANDLE);
      std::vector<VkWriteDescriptorSet> writes(count);
      for (size_t i = 0; i < count; ++i) {
        writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
        writes[i].dstSet = info.set;
        writes[i].dstBinding = static_cast<uint32_t>(i);
        writes[i].descriptorCount = 1;
        if ((texel_reads >> i) & 1u) {
          views[i] =
              info.node->bindings[i].buffer->texel_view(info.node->kernel->desc().texel_vec4);
          writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
          writes[i].pTexelBufferView = &views[i];
        } else {
          buffer_infos[i] = {key.buffers[i], 0, VK_WHOLE_SIZE};
          writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
          writes[i].pBufferInfo = &buffer_infos[i];
        }
      }
      vkUpdateDescriptorSets(vk, static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);
    }
  }

  VkCommandPoolCreateInfo pool_info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool_info.queueFamilyIndex = device.info().compute_queue_family;
  VkCommandPool pool = VK_NULL_HANDLE;
  VKM_CHECK(vkCreateCommandPool(vk, &pool_info, nullptr, &pool));
  pool_ = Unique<VkCommandPool>(vk, pool, vkDestroyCommandPool);

  VkSemaphoreTypeCreateInfo type_info{VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO};
  type_info.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
  VkSemaphoreCreateInfo sem_info{VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
  sem_info.pNext = &type_info;
  VkSemaphore semaphore = VK_NULL_HANDLE;
  VKM_CHECK(vkCreateSemaphore(vk, &sem_info, nullptr, &semaphore));
  timeline_ = Unique<VkSemaphore>(vk, semaphore, vkDestroySemaphore);

  if (options.profile) {
    if (device.info().timestamp_valid_bits == 0) {
      throw Error("profiling needs timestamps, and this device's compute queue has none");
    }
    VkQueryPoolCreateInfo query_info{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    query_info.queryType = VK_QUERY_TYPE_TIMESTAMP;
    query_info.queryCount = static_cast<uint32_t>(nodes.size() + 1);
    VkQueryPool queries = VK_NULL_HANDLE;
    VKM_CHECK(vkCreateQueryPool(vk, &query_info, nullptr, &queries));
    queries_ = Unique<VkQueryPool>(vk, queries, vkDestroyQueryPool);
  }

  // Split into chunks at node boundaries.
  const size_t per_chunk =
      options.nodes_per_chunk == 0 ? std::max<size_t>(nodes.size(), 1) : options.nodes_per_chunk;
  const size_t chunk_count = std::max<size_t>(1, (nodes.size() + per_chunk - 1) / per_chunk);
  command_buffers_.resize(chunk_count);
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = pool;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = static_cast<uint32_t>(chunk_count);
  VKM_CHECK(vkAllocateCommandBuffers(vk, &alloc, command_buffers_.data()));

  size_t position = 0;
  size_t previous_level = 0;
  for (size_t c = 0; c < chunk_count; ++c) {
    VkCommandBuffer cmd = command_buffers_[c];
    VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    VKM_CHECK(vkBeginCommandBuffer(cmd, &begin));
    if (c == 0) {
      // Whatever ran before this program (uploads, another program) is finished with.
      record_barrier(cmd);
      if (queries_) {
        vkCmdResetQueryPool(cmd, queries_.get(), 0, static_cast<uint32_t>(nodes.size() + 1));
        vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_.get(), 0);
      }
    }
    const size_t end = std::min(nodes.size(), position + per_chunk);
    for (; position < end; ++position) {
      const size_t index = order[position];
      const Node& n = nodes[index];
      if (position > 0 && level[index] != previous_level) {
        record_barrier(cmd);
        ++barriers_;
      }
      previous_level = level[index];
      switch (n.kind) {
        case Node::Kind::kDispatch: {
          std::vector<VkBuffer> buffers;
          for (const Binding& b : n.bindings) buffers.push_back(b.buffer->get());
          const VkDescriptorSet set =
              sets.at({n.kernel->set_layout(), n.kernel->desc().texel_vec4, buffers}).set;
          vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, n.kernel->pipeline());
          vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, n.kernel->layout(), 0, 1,
                                  &set, 0, nullptr);
          if (!n.push.empty()) {
            vkCmdPushConstants(cmd, n.kernel->layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                               static_cast<uint32_t>(n.push.size() * 4), n.push.data());
          }
          vkCmdDispatch(cmd, n.groups[0], n.groups[1], n.groups[2]);
          ++dispatches_;
          break;
        }
        case Node::Kind::kFill:
          vkCmdFillBuffer(cmd, n.bindings[0].buffer->get(), 0, VK_WHOLE_SIZE, n.fill_word);
          break;
        case Node::Kind::kCopy: {
          const VkBufferCopy region{0, 0, n.bindings[0].buffer->size()};
          vkCmdCopyBuffer(cmd, n.bindings[0].buffer->get(), n.bindings[1].buffer->get(), 1,
                          &region);
          break;
        }
      }
      if (queries_) {
        vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_.get(),
                            static_cast<uint32_t>(position + 1));
      }
      labels_.push_back(n.label);
    }
    record_host_barrier(cmd);
    VKM_CHECK(vkEndCommandBuffer(cmd));
  }
}

Program::~Program() {
  try {
    wait();
  } catch (...) {
    // A lost device cannot be waited for; destruction goes on.
  }
}

void Program::submit() {
  wait();
  const uint64_t base = submitted_value_;
  const size_t n = command_buffers_.size();
  std::vector<uint64_t> values(n);
  std::vector<VkTimelineSemaphoreSubmitInfo> timeline(n);
  std::vector<VkSubmitInfo> submits(n);
  const VkSemaphore semaphore = timeline_.get();
  for (size_t c = 0; c < n; ++c) {
    values[c] = base + c + 1;
    timeline[c] = {VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO};
    timeline[c].signalSemaphoreValueCount = 1;
    timeline[c].pSignalSemaphoreValues = &values[c];
    submits[c] = {VK_STRUCTURE_TYPE_SUBMIT_INFO};
    submits[c].pNext = &timeline[c];
    submits[c].commandBufferCount = 1;
    submits[c].pCommandBuffers = &command_buffers_[c];
    submits[c].signalSemaphoreCount = 1;
    submits[c].pSignalSemaphores = &semaphore;
  }
  VKM_CHECK(
      vkQueueSubmit(device_.queue(), static_cast<uint32_t>(n), submits.data(), VK_NULL_HANDLE));
  submitted_value_ = base + n;
}

void Program::wait_chunk(size_t chunk) {
  if (submitted_value_ == 0) return;
  const uint64_t base = submitted_value_ - command_buffers_.size();
  const uint64_t value = base + chunk + 1;
  const VkSemaphore semaphore = timeline_.get();
  VkSemaphoreWaitInfo info{VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO};
  info.semaphoreCount = 1;
  info.pSemaphores = &semaphore;
  info.pValues = &value;
  VKM_CHECK(vkWaitSemaphores(device_.get(), &info, UINT64_MAX));
}

void Program::run(const std::function<void(size_t, size_t)>& progress) {
  submit();
  for (size_t c = 0; c < chunks(); ++c) {
    wait_chunk(c);
    if (progress) progress(c + 1, chunks());
  }
}

std::vector<NodeTiming> Program::timings() const {
  if (!queries_) throw Error("timings() needs a Program recorded with profile = true");
  const uint32_t count = static_cast<uint32_t>(labels_.size() + 1);
  std::vector<uint64_t> ticks(count);
  VKM_CHECK(vkGetQueryPoolResults(device_.get(), queries_.get(), 0, count, count * sizeof(uint64_t),
                                  ticks.data(), sizeof(uint64_t),
                                  VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  const uint32_t bits = device_.info().timestamp_valid_bits;
  const uint64_t mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  const double period = device_.info().timestamp_period_ns;
  std::vector<NodeTiming> out;
  for (size_t i = 0; i < labels_.size(); ++i) {
    const uint64_t delta = (ticks[i + 1] - ticks[i]) & mask;  // wraps correctly within valid bits
    out.push_back({labels_[i], static_cast<double>(delta) * period * 1e-6});
  }
  return out;
}

}  // namespace vkm
