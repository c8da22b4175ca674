// The nodes of a Graph (engine/graph.hpp): kernel dispatches, buffer fills and copies, each with
// the buffers it reads and writes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/kernel.hpp"
#include "engine/memory.hpp"

namespace vkm {

enum class Access { kRead, kWrite, kReadWrite };

struct Binding {
  const Buffer* buffer = nullptr;
  Access access = Access::kRead;
};
inline Binding reads(const Buffer& b) {
  return {&b, Access::kRead};
}
inline Binding writes(const Buffer& b) {
  return {&b, Access::kWrite};
}
inline Binding reads_writes(const Buffer& b) {
  return {&b, Access::kReadWrite};
}

struct Node {
  enum class Kind { kDispatch, kFill, kCopy };
  Kind kind = Kind::kDispatch;
  std::string label;
  std::vector<Binding> bindings;  // dispatch: binding i of set 0; fill: [dst]; copy: [src, dst]
  const Kernel* kernel = nullptr;
  std::vector<uint32_t> push;  // push-constant words
  std::array<uint32_t, 3> groups{1, 1, 1};
  uint32_t fill_word = 0;
  // What a dispatch computes, as its recorder states it (Graph::describe_work; 0: not stated):
  // its multiply-adds, and the longest chain of them one invocation runs alone. vkbench reports
  // them beside the grid: the parallelism a GPU gets from the dispatch.
  uint64_t macs = 0;
  uint64_t serial_macs = 0;
};

}  // namespace vkm
