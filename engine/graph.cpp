// Graph building; a Program's recording (schedule, descriptor sets, chunks at step marks) and its
// timeline-semaphore replay.
#include "engine/graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "engine/device.hpp"
#include "engine/error.hpp"
#include "engine/schedule.hpp"

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

void Graph::mark_step() {
  step_ends_.push_back(nodes_.size());
}

void Graph::append(const Graph& other) {
  const size_t base = nodes_.size();
  nodes_.insert(nodes_.end(), other.nodes_.begin(), other.nodes_.end());
  for (size_t end : other.step_ends_) step_ends_.push_back(base + end);
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

void record_node(VkCommandBuffer cmd, const Node& n, const DescriptorSets& sets) {
  switch (n.kind) {
    case Node::Kind::kDispatch: {
      const VkDescriptorSet set = sets.at(n);
      vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, n.kernel->pipeline());
      vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, n.kernel->layout(), 0, 1, &set,
                              0, nullptr);
      if (!n.push.empty()) {
        vkCmdPushConstants(cmd, n.kernel->layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0,
                           static_cast<uint32_t>(n.push.size() * 4), n.push.data());
      }
      vkCmdDispatch(cmd, n.groups[0], n.groups[1], n.groups[2]);
      break;
    }
    case Node::Kind::kFill:
      vkCmdFillBuffer(cmd, n.bindings[0].buffer->get(), 0, VK_WHOLE_SIZE, n.fill_word);
      break;
    case Node::Kind::kCopy: {
      const VkBufferCopy region{0, 0, n.bindings[0].buffer->size()};
      vkCmdCopyBuffer(cmd, n.bindings[0].buffer->get(), n.bindings[1].buffer->get(), 1, &region);
      break;
    }
  }
}

// Where each chunk ends in the recorded order: after the last position of any node of its steps
// (a later step's node may be recorded among them when its level allows; it goes with them).
std::vector<size_t> chunk_ends(const Graph& graph, const Schedule& schedule,
                               size_t steps_per_chunk) {
  const size_t count = graph.size();
  std::vector<size_t> ends;
  if (steps_per_chunk > 0 && !graph.step_ends().empty()) {
    std::vector<size_t> position(count);
    for (size_t p = 0; p < count; ++p) position[schedule.order[p]] = p;
    size_t node = 0, end = 0;
    const auto& marks = graph.step_ends();
    for (size_t m = steps_per_chunk - 1; m < marks.size(); m += steps_per_chunk) {
      for (; node < marks[m]; ++node) end = std::max(end, position[node] + 1);
      if (end > (ends.empty() ? 0 : ends.back()) && end < count) ends.push_back(end);
    }
  }
  ends.push_back(count);
  return ends;
}

}  // namespace

Program::Program(Device& device, const Graph& graph, RecordOptions options)
    : device_(device), options_(options) {
  const auto& nodes = graph.nodes();
  const VkDevice vk = device.get();
  const Schedule plan = schedule(nodes, options.profile);
  levels_ = plan.levels;
  sets_ = DescriptorSets(vk, nodes);
  descriptor_sets_ = sets_.size();

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

  const std::vector<size_t> ends = chunk_ends(graph, plan, options.steps_per_chunk);
  command_buffers_.resize(ends.size());
  VkCommandBufferAllocateInfo alloc{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  alloc.commandPool = pool;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = static_cast<uint32_t>(ends.size());
  VKM_CHECK(vkAllocateCommandBuffers(vk, &alloc, command_buffers_.data()));

  size_t position = 0;
  for (size_t c = 0; c < ends.size(); ++c) {
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
    for (; position < ends[c]; ++position) {
      const size_t index = plan.order[position];
      const Node& n = nodes[index];
      if (position > 0 && plan.level[index] != plan.level[plan.order[position - 1]]) {
        record_barrier(cmd);  // a barrier also orders work submitted in earlier chunks
        ++barriers_;
      }
      record_node(cmd, n, sets_);
      if (n.kind == Node::Kind::kDispatch) ++dispatches_;
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
