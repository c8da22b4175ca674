// Block allocator with first-fit free lists, and the Buffer that owns a range of a block.
#include "engine/memory.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "engine/error.hpp"

namespace vkm {

namespace {

constexpr VkBufferUsageFlags kUsage =
    VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT |
    VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;

VkDeviceSize align_up(VkDeviceSize value, VkDeviceSize alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

}  // namespace

Allocator::Allocator(VkPhysicalDevice physical, VkDevice device) : device_(device) {
  vkGetPhysicalDeviceMemoryProperties(physical, &properties_);
  // The alignment views need: what the driver asks of a small buffer with every usage we set.
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = 4;
  info.usage = kUsage;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer probe = VK_NULL_HANDLE;
  VKM_CHECK(vkCreateBuffer(device, &info, nullptr, &probe));
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(device, probe, &req);
  vkDestroyBuffer(device, probe, nullptr);
  buffer_alignment_ = std::max<VkDeviceSize>(req.alignment, 16);
}

Allocator::~Allocator() {
  for (auto& block : blocks_) {
    if (block.mapped != nullptr) vkUnmapMemory(device_, block.memory);
    vkFreeMemory(device_, block.memory, nullptr);
  }
}

uint32_t Allocator::memory_type(uint32_t allowed_types, MemoryKind kind) const {
  // Candidate property sets, best first.
  std::vector<VkMemoryPropertyFlags> wanted;
  constexpr VkMemoryPropertyFlags kHost =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  switch (kind) {
    case MemoryKind::kDevice:
      wanted = {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0};
      break;
    case MemoryKind::kUpload:
      wanted = {kHost};
      break;
    case MemoryKind::kReadback:
      wanted = {kHost | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, kHost};
      break;
  }
  for (VkMemoryPropertyFlags flags : wanted) {
    for (uint32_t i = 0; i < properties_.memoryTypeCount; ++i) {
      if ((allowed_types & (1u << i)) &&
          (properties_.memoryTypes[i].propertyFlags & flags) == flags) {
        return i;
      }
    }
  }
  throw Error("no suitable Vulkan memory type for a buffer", VK_ERROR_FEATURE_NOT_PRESENT);
}

uint32_t Allocator::new_block(uint32_t type_index, MemoryKind kind, VkDeviceSize size) {
  VkMemoryAllocateInfo info{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  info.allocationSize = size;
  info.memoryTypeIndex = type_index;
  Block block;
  VKM_CHECK(vkAllocateMemory(device_, &info, nullptr, &block.memory));
  block.type_index = type_index;
  block.kind = kind;
  block.size = size;
  block.free[0] = size;
  if (kind != MemoryKind::kDevice) {
    void* mapped = nullptr;
    VKM_CHECK(vkMapMemory(device_, block.memory, 0, VK_WHOLE_SIZE, 0, &mapped));
    block.mapped = static_cast<std::byte*>(mapped);
  }
  blocks_.push_back(std::move(block));
  return static_cast<uint32_t>(blocks_.size() - 1);
}

Allocation Allocator::allocate(const VkMemoryRequirements& req, MemoryKind kind) {
  const uint32_t type_index = memory_type(req.memoryTypeBits, kind);
  const VkDeviceSize size = align_up(req.size, 256);
  auto try_block = [&](uint32_t b) -> Allocation {
    Block& block = blocks_[b];
    for (auto it = block.free.begin(); it != block.free.end(); ++it) {
      const VkDeviceSize start = align_up(it->first, req.alignment);
      const VkDeviceSize end = it->first + it->second;
      if (start + size > end) continue;
      const VkDeviceSize free_offset = it->first;
      block.free.erase(it);
      if (start > free_offset) block.free[free_offset] = start - free_offset;
      if (start + size < end) block.free[start + size] = end - (start + size);
      return {b, start, size, block.mapped ? block.mapped + start : nullptr};
    }
    return {};
  };
  for (uint32_t b = 0; b < blocks_.size(); ++b) {
    if (blocks_[b].type_index != type_index || blocks_[b].kind != kind) continue;
    Allocation a = try_block(b);
    if (a.block != UINT32_MAX) return a;
  }
  const VkDeviceSize block_size = std::max(kBlockSize, align_up(size + req.alignment, kBlockSize));
  return try_block(new_block(type_index, kind, block_size));
}

void Allocator::free(const Allocation& a) {
  if (a.block == UINT32_MAX) return;
  auto& free = blocks_[a.block].free;
  auto [it, inserted] = free.emplace(a.offset, a.size);
  // Coalesce with the next and the previous free range.
  auto next = std::next(it);
  if (next != free.end() && it->first + it->second == next->first) {
    it->second += next->second;
    free.erase(next);
  }
  if (it != free.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      free.erase(it);
    }
  }
}

VkDeviceSize Allocator::reserved_bytes() const {
  VkDeviceSize total = 0;
  for (const auto& b : blocks_) total += b.size;
  return total;
}

Buffer::Buffer(Allocator& allocator, VkDeviceSize bytes, MemoryKind kind, std::string name)
    : allocator_(&allocator),
      device_(allocator.device()),
      size_(bytes),
      kind_(kind),
      name_(std::move(name)) {
  if (bytes == 0) throw Error(fmt::format("buffer '{}' of zero bytes", name_));
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = bytes;
  info.usage = kUsage;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer handle = VK_NULL_HANDLE;
  VKM_CHECK(vkCreateBuffer(allocator.device(), &info, nullptr, &handle));
  buffer_ = Unique<VkBuffer>(allocator.device(), handle, vkDestroyBuffer);
  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(allocator.device(), handle, &req);
  allocation_ = allocator.allocate(req, kind);
  // The allocator's blocks are private; bind through the allocation's block memory.
  VKM_CHECK(vkBindBufferMemory(allocator.device(), handle,
                               allocator.block_memory(allocation_.block), allocation_.offset));
}

Buffer Buffer::alias(const Buffer& parent, VkDeviceSize offset, VkDeviceSize bytes,
                     std::string name) {
  if (parent.allocator_ == nullptr || parent.parent_ != VK_NULL_HANDLE) {
    throw Error(
        fmt::format("view '{}': '{}' is not a buffer that owns its memory", name, parent.name()));
  }
  Allocator& allocator = *parent.allocator_;
  if (bytes == 0 || offset % allocator.buffer_alignment() != 0 || offset + bytes > parent.size()) {
    throw Error(
        fmt::format("view '{}' of {} bytes at {} does not fit '{}' ({} bytes, alignment {})", name,
                    bytes, offset, parent.name(), parent.size(), allocator.buffer_alignment()));
  }
  Buffer view;
  view.device_ = allocator.device();
  view.size_ = bytes;
  view.kind_ = parent.kind_;
  view.name_ = std::move(name);
  view.parent_ = parent.get();
  view.parent_offset_ = offset;
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = bytes;
  info.usage = kUsage;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer handle = VK_NULL_HANDLE;
  VKM_CHECK(vkCreateBuffer(view.device_, &info, nullptr, &handle));
  view.buffer_ = Unique<VkBuffer>(view.device_, handle, vkDestroyBuffer);
  VKM_CHECK(vkBindBufferMemory(view.device_, handle,
                               allocator.block_memory(parent.allocation_.block),
                               parent.allocation_.offset + offset));
  view.allocation_.mapped =
      parent.allocation_.mapped != nullptr ? parent.allocation_.mapped + offset : nullptr;
  return view;
}

Buffer::Buffer(Buffer&& other) noexcept {
  *this = std::move(other);
}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    allocator_ = std::exchange(other.allocator_, nullptr);
    device_ = std::exchange(other.device_, VK_NULL_HANDLE);
    buffer_ = std::move(other.buffer_);
    texel_view_ = std::move(other.texel_view_);
    texel4_view_ = std::move(other.texel4_view_);
    allocation_ = std::exchange(other.allocation_, Allocation{});
    size_ = std::exchange(other.size_, 0);
    kind_ = other.kind_;
    name_ = std::move(other.name_);
    parent_ = std::exchange(other.parent_, VK_NULL_HANDLE);
    parent_offset_ = std::exchange(other.parent_offset_, 0);
  }
  return *this;
}

Buffer::~Buffer() {
  release();
}

VkBufferView Buffer::texel_view(bool vec4) const {
  Unique<VkBufferView>& view = vec4 ? texel4_view_ : texel_view_;
  if (!view) {
    const VkDeviceSize texel = vec4 ? 16 : 4;
    if (size_ % texel != 0) {
      throw Error(fmt::format("buffer '{}' of {} bytes is not whole {}: no texel view", name_,
                              size_, vec4 ? "vec4s" : "floats"));
    }
    VkBufferViewCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
    info.buffer = buffer_.get();
    info.format = vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT;
    info.offset = 0;
    info.range = VK_WHOLE_SIZE;
    VkBufferView handle = VK_NULL_HANDLE;
    VKM_CHECK(vkCreateBufferView(device_, &info, nullptr, &handle));
    view = Unique<VkBufferView>(device_, handle, vkDestroyBufferView);
  }
  return view.get();
}

void Buffer::release() {
  texel_view_.reset();
  texel4_view_.reset();
  buffer_.reset();
  if (allocator_ != nullptr) allocator_->free(allocation_);
  allocation_ = {};
  allocator_ = nullptr;
}

}  // namespace vkm
