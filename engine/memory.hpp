// Allocator and Buffer. Device memory comes from a few large blocks (64 MiB, or one block per
// request larger than that); a Buffer is a VkBuffer bound to a range of a block, returned to the
// block's free list when the Buffer dies. No allocation per training step: buffers are made once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/handle.hpp"
#include "engine/vulkan.hpp"

namespace vkm {

enum class MemoryKind {
  kDevice,    // device-local storage (tensors)
  kUpload,    // host-visible, coherent: staging towards the device
  kReadback,  // host-visible, cached if possible: staging back from the device
};

class Allocator;

struct Allocation {
  uint32_t block = UINT32_MAX;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
  std::byte* mapped = nullptr;  // host pointer for host-visible kinds
};

// A storage buffer. Move-only; the single owner of its VkBuffer and of its memory range.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Allocator& allocator, VkDeviceSize bytes, MemoryKind kind, std::string name);
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();

  // Bytes [offset, offset + bytes) of `parent`'s memory as a buffer of its own: its own VkBuffer
  // bound to the same memory, owning none of it (the parent must outlive it). offset must be a
  // multiple of Allocator::buffer_alignment(). The graph orders hazards on the parent's bytes: a
  // use of a view conflicts with the uses of the parent and of the views that overlap it, and
  // with no others (what lets one kernel update many small tensors that live in one buffer,
  // while the kernels that each write one of them need no barrier between them).
  static Buffer alias(const Buffer& parent, VkDeviceSize offset, VkDeviceSize bytes,
                      std::string name);

  VkBuffer get() const { return buffer_.get(); }
  // What the graph tracks hazards on: the parent's VkBuffer for a view, else this buffer's.
  VkBuffer hazard_key() const { return parent_ != VK_NULL_HANDLE ? parent_ : buffer_.get(); }
  // Where this buffer's bytes start within hazard_key()'s (0 unless a view).
  VkDeviceSize hazard_offset() const { return parent_offset_; }
  VkDeviceSize size() const { return size_; }
  const std::string& name() const { return name_; }
  MemoryKind kind() const { return kind_; }
  // Host pointer for kUpload/kReadback buffers, nullptr for device-local ones.
  std::byte* mapped() const { return allocation_.mapped; }
  // The whole buffer as an r32f (or, vec4, rgba32f) storage texel buffer, made on first use and
  // owned here: kernels built with texel reads load through it (Device::texel_reads says whether
  // the device can). A vec4 view needs a size of whole vec4s.
  VkBufferView texel_view(bool vec4 = false) const;

 private:
  void release();

  Allocator* allocator_ = nullptr;  // null for a view: it frees nothing
  VkDevice device_ = VK_NULL_HANDLE;
  Unique<VkBuffer> buffer_;
  mutable Unique<VkBufferView> texel_view_;   // r32f; destroyed before buffer_
  mutable Unique<VkBufferView> texel4_view_;  // rgba32f
  Allocation allocation_;
  VkDeviceSize size_ = 0;
  MemoryKind kind_ = MemoryKind::kDevice;
  std::string name_;
  VkBuffer parent_ = VK_NULL_HANDLE;  // set for a view (alias); its memory is the parent's
  VkDeviceSize parent_offset_ = 0;    // a view's first byte within its parent
};

class Allocator {
 public:
  static constexpr VkDeviceSize kBlockSize = VkDeviceSize{64} << 20;

  Allocator(VkPhysicalDevice physical, VkDevice device);
  ~Allocator();
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  VkDevice device() const { return device_; }
  // The memory alignment a storage buffer needs (a view's offset must be a multiple of it).
  VkDeviceSize buffer_alignment() const { return buffer_alignment_; }
  Allocation allocate(const VkMemoryRequirements& requirements, MemoryKind kind);
  void free(const Allocation& allocation);

  // Bytes held in VkDeviceMemory blocks and number of vkAllocateMemory calls made.
  VkDeviceSize reserved_bytes() const;
  size_t block_count() const { return blocks_.size(); }
  VkDeviceMemory block_memory(uint32_t block) const { return blocks_[block].memory; }

 private:
  struct Block {
    VkDeviceMemory memory = VK_NULL_HANDLE;
    uint32_t type_index = 0;
    MemoryKind kind = MemoryKind::kDevice;
    VkDeviceSize size = 0;
    std::byte* mapped = nullptr;
    std::map<VkDeviceSize, VkDeviceSize> free;  // offset -> size, coalesced
  };

  uint32_t memory_type(uint32_t allowed_types, MemoryKind kind) const;
  uint32_t new_block(uint32_t type_index, MemoryKind kind, VkDeviceSize size);

  VkDevice device_;
  VkDeviceSize buffer_alignment_ = 256;
  VkPhysicalDeviceMemoryProperties properties_{};
  std::vector<Block> blocks_;
};

}  // namespace vkm
