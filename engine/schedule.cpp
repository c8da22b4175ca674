// Hazard levels over byte ranges of buffers.
#include "engine/schedule.hpp"

#include <algorithm>
#include <unordered_map>

namespace vkm {

namespace {

// One access still able to order a later one: a write (until a later write covers its bytes)
// or a read since the last write over its bytes.
struct Use {
  VkDeviceSize begin = 0, end = 0;
  long level = 0;
  bool write = false;
};

bool overlap(const Use& a, VkDeviceSize begin, VkDeviceSize end) {
  return a.begin < end && begin < a.end;
}

}  // namespace

Schedule schedule(const std::vector<Node>& nodes, bool serialize) {
  std::unordered_map<VkBuffer, std::vector<Use>> live;
  Schedule s;
  s.level.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    long level = serialize ? static_cast<long>(i) : 0;
    for (const Binding& b : nodes[i].bindings) {
      const VkDeviceSize begin = b.buffer->hazard_offset(), end = begin + b.buffer->size();
      for (const Use& a : live[b.buffer->hazard_key()]) {
        // RAW and WAW after a write; WAR for a write after a read.
        if (overlap(a, begin, end) && (a.write || b.access != Access::kRead)) {
          level = std::max(level, a.level + 1);
        }
      }
    }
    for (const Binding& b : nodes[i].bindings) {
      const VkDeviceSize begin = b.buffer->hazard_offset(), end = begin + b.buffer->size();
      std::vector<Use>& uses = live[b.buffer->hazard_key()];
      const bool write = b.access != Access::kRead;
      if (write) {
        // Anything this write covers can order nothing the write does not already order: a later
        // access that overlaps it overlaps the write, which is deeper.
        std::erase_if(uses, [&](const Use& a) { return a.begin >= begin && a.end <= end; });
      }
      uses.push_back({begin, end, level, write});
    }
    s.level[i] = static_cast<size_t>(level);
  }
  s.order.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) s.order[i] = i;
  std::stable_sort(s.order.begin(), s.order.end(),
                   [&](size_t a, size_t b) { return s.level[a] < s.level[b]; });
  s.levels = nodes.empty() ? 0 : s.level[s.order.back()] + 1;
  return s;
}

}  // namespace vkm
