// The order a Program records a Graph's nodes in. A node's level is one past the deepest earlier
// node it has a hazard with — read after write, write after read or write after write — on
// overlapping bytes of a buffer (a view's bytes are its parent's: Buffer::hazard_offset), so
// writes to disjoint ranges of one buffer do not wait for each other. Nodes are recorded level by
// level, in insertion order within a level, with one memory barrier between levels.
#pragma once

#include <cstddef>
#include <vector>

#include "engine/node.hpp"

namespace vkm {

struct Schedule {
  std::vector<size_t> level;  // per node, in insertion order
  std::vector<size_t> order;  // node indices, by level, insertion order within a level
  size_t levels = 0;
};

// serialize: every node a level of its own (profiling times each node alone).
Schedule schedule(const std::vector<Node>& nodes, bool serialize);

}  // namespace vkm
