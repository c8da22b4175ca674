// Graph and Program: the command-buffer graph executor.
//
// A Graph is a list of nodes (engine/node.hpp) — kernel dispatches, buffer fills and copies —
// each naming the buffers it reads and writes. Insertion order is the program's meaning. A
// Program is the graph recorded in three parts: its schedule (engine/schedule.hpp: nodes in
// hazard levels, one memory barrier between levels, so independent nodes never wait for each
// other and dependent ones always do), its descriptor sets (engine/descriptor_sets.hpp, shared by
// identical bindings) and its command buffers. It is recorded once and replayed any number of
// times; long work is split into chunks (one command buffer each) at the step boundaries the
// graph marks, submitted together, each signalling a timeline semaphore the host can wait on to
// show progress.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/descriptor_sets.hpp"
#include "engine/handle.hpp"
#include "engine/kernel.hpp"
#include "engine/memory.hpp"
#include "engine/node.hpp"
#include "engine/vulkan.hpp"

namespace vkm {

class Device;

class Graph {
 public:
  // elements: the invocation grid; the kernel's workgroup size turns it into workgroups.
  template <typename Push>
  void dispatch(const Kernel& kernel, std::vector<Binding> bindings, const Push& push,
                std::array<uint32_t, 3> elements, std::string label = {}) {
    static_assert(std::is_trivially_copyable_v<Push> && sizeof(Push) % 4 == 0,
                  "push constants must be a trivially copyable struct of 32-bit fields");
    dispatch_bytes(kernel, std::move(bindings), std::as_bytes(std::span<const Push>(&push, 1)),
                   elements, std::move(label));
  }
  void dispatch_bytes(const Kernel& kernel, std::vector<Binding> bindings,
                      std::span<const std::byte> push, std::array<uint32_t, 3> elements,
                      std::string label = {});
  void fill(const Buffer& dst, uint32_t word, std::string label = {});
  void copy(const Buffer& src, const Buffer& dst, std::string label = {});
  // States the work of the dispatch just recorded (Node::macs, Node::serial_macs).
  void describe_work(uint64_t macs, uint64_t serial_macs);
  // Marks the end of a step (e.g. one training step): a Program may end a chunk here.
  void mark_step();
  // Appends every node and step mark of another graph (e.g. one training step, many times).
  void append(const Graph& other);
  // The first dispatch of each kernel, with no workgroups: running it makes a driver that compiles
  // a kernel at its first dispatch rather than at pipeline creation (lavapipe: LLVM, minutes for
  // a model's kernels on a cold disk cache) do it now, when the caller can say so, instead of
  // in the middle of the first real run.
  Graph compile_run() const;

  const std::vector<Node>& nodes() const { return nodes_; }
  size_t size() const { return nodes_.size(); }
  // The node count at each mark_step(), in order.
  const std::vector<size_t>& step_ends() const { return step_ends_; }

 private:
  std::vector<Node> nodes_;
  std::vector<size_t> step_ends_;
};

struct RecordOptions {
  // Marked steps per command buffer (0: all in one). A chunk ends after its last step's last
  // node; keep it short enough for a GPU watchdog. The host waiting for a chunk sees the writes of
  // every node of its steps.
  size_t steps_per_chunk = 0;
  // Timestamps around every node; nodes then run one at a time so each time is its own.
  bool profile = false;
};

struct NodeTiming {
  std::string label;  // the node's label, or its kernel's name
  double ms = 0.0;
};

class Program {
 public:
  Program(Device& device, const Graph& graph, RecordOptions options = {});
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  // Submits every chunk (after waiting for the previous run) and returns at once.
  void submit();
  // Blocks until chunk `chunk` of the last submission has finished; its writes to host-visible
  // buffers are then visible to the host (each chunk ends with a barrier to the host).
  void wait_chunk(size_t chunk);
  void wait() {
    if (chunks() > 0) wait_chunk(chunks() - 1);
  }
  // submit(), then wait chunk by chunk, calling progress(done, total) after each.
  void run(const std::function<void(size_t, size_t)>& progress = {});

  size_t chunks() const { return command_buffers_.size(); }
  size_t dispatches() const { return dispatches_; }
  size_t barriers() const { return barriers_; }
  size_t levels() const { return levels_; }
  size_t descriptor_sets() const { return descriptor_sets_; }
  // Per-node GPU times of the last run (profile mode only), in recorded order.
  std::vector<NodeTiming> timings() const;

 private:
  Device& device_;
  RecordOptions options_;
  std::vector<std::string> labels_;  // recorded order, for timings
  DescriptorSets sets_;
  Unique<VkCommandPool> pool_;
  Unique<VkSemaphore> timeline_;
  Unique<VkQueryPool> queries_;
  std::vector<VkCommandBuffer> command_buffers_;  // owned by pool_
  uint64_t submitted_value_ = 0;                  // timeline value the last submission ends at
  size_t dispatches_ = 0;
  size_t barriers_ = 0;
  size_t levels_ = 0;
  size_t descriptor_sets_ = 0;
};

}  // namespace vkm
