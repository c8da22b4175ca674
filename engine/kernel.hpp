// Kernel: one compute pipeline = an embedded shader + named, typed specialization constants +
// a push-constant block + N bindings at set 0 (storage buffers, or r32f storage texel buffers for
// the bindings in texel_reads) + an optional required subgroup size. KernelCache builds each
// distinct kernel once, keyed by all of that, on top of a VkPipelineCache persisted in the user's
// cache folder so the second start is fast.
//
// The driver compiles as it creates a pipeline (lavapipe turns the SPIR-V into optimised NIR, a
// GPU driver into machine code), seconds for the large convolution kernels. So KernelCache::get
// checks the description at once and creates the pipeline on a thread of its own, as many at a
// time as the machine has cores: the layers ask for all their kernels while they are built, and
// the first use of a pipeline (recording a Program) waits for it. A creation that failed throws
// its error there.
//
// A KernelDesc is checked against what its shader's SPIR-V declares (engine/shader_registry.hpp,
// reflected at build time): its constants are set by name (the shader's layout(constant_id)
// gives the id) and must have the shader's type; its push-constant size and its bindings (how
// many, which are texel buffers) must be the shader's. A description that disagrees fails at
// pipeline creation with a message naming both sides.
//
// Reserved specialization constant ids, declared by shaders/common/base.glsl:
//   0, 1, 2  local size x, y, z (the kernel's workgroup tile)
//   3        USE_SUBGROUP_OPS (false when VKMNIST_NO_SUBGROUP_OPS=1)
// A kernel's own constants use ids from 10 on.
#pragma once

#include <array>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <variant>
#include <vector>

#include "engine/handle.hpp"
#include "engine/vulkan.hpp"

namespace vkm {

class Device;

struct SpecConstant {
  std::string name;  // as the shader declares it
  std::variant<int32_t, uint32_t, float, bool> value;
};

struct KernelDesc {
  std::string shader;  // shaders/<shader>.comp
  std::array<uint32_t, 3> local_size{64, 1, 1};
  std::vector<SpecConstant> constants;  // the shader's own (ids >= 10), by name
  uint32_t push_constant_bytes = 0;     // sizeof the C++ mirror of the GLSL block
  uint32_t bindings = 0;                // storage buffers at set 0, bindings 0..N-1
  // Bit i set: binding i is read-only and declared through shaders/common/reads.glsl; it is then
  // bound as an r32f storage texel buffer and the shader's texel variant (<shader>.texel, built
  // with VKM_TEXEL_READS) is used. 0: every binding is a storage buffer (the plain variant).
  uint32_t texel_reads = 0;
  // With texel_reads: bind those tensors as rgba32f views and use <shader>.texel4 (four floats
  // per fetch). Every tensor bound must then be whole vec4s.
  bool texel_vec4 = false;
  // 0: any. Otherwise require this subgroup size (clamped to the device's min..max) with full
  // subgroups, where the device offers subgroup size control; elsewhere it is ignored and the
  // kernel stays correct by reading gl_SubgroupSize.
  uint32_t subgroup_size = 0;

  KernelDesc& constant(std::string name, std::variant<int32_t, uint32_t, float, bool> v) {
    constants.push_back({std::move(name), v});
    return *this;
  }
  std::string key() const;
};

class Kernel {
 public:
  // Checks `desc` against its shader and the device (throws vkm::Error) and starts creating the
  // pipeline on another thread once one of `builders` is free (where the system has no thread
  // to spare, pipeline() creates it).
  Kernel(Device& device, const KernelDesc& desc, VkPipelineCache cache,
         VkDescriptorSetLayout set_layout, VkPipelineLayout layout,
         std::counting_semaphore<>& builders);
  // A creation still under way is waited for (std::async's future does) and its pipeline destroyed.
  ~Kernel() = default;

  const KernelDesc& desc() const { return desc_; }
  const std::string& name() const { return desc_.shader; }
  // Waits for the pipeline's creation; throws its error (every call) if it failed.
  VkPipeline pipeline() const;
  VkPipelineLayout layout() const { return layout_; }
  VkDescriptorSetLayout set_layout() const { return set_layout_; }
  const std::array<uint32_t, 3>& local_size() const { return desc_.local_size; }
  // The subgroup size the pipeline was created with (0 when not controlled).
  uint32_t required_subgroup_size() const { return required_subgroup_size_; }

 private:
  KernelDesc desc_;
  VkDescriptorSetLayout set_layout_;
  VkPipelineLayout layout_;
  uint32_t required_subgroup_size_ = 0;
  // The creation under way, then its outcome: the pipeline, or the error it threw.
  mutable std::mutex mutex_;
  mutable std::future<Unique<VkPipeline>> pending_;
  mutable Unique<VkPipeline> pipeline_;
  mutable std::exception_ptr error_;
};

class KernelCache {
 public:
  // cache_file: where the VkPipelineCache lives; empty = default
  // ($XDG_CACHE_HOME or ~/.cache)/vkmnist/pipelines-<vendor>-<device>-<driver>.bin.
  explicit KernelCache(Device& device, std::filesystem::path cache_file = {});
  ~KernelCache();  // saves the pipeline cache (best effort)
  KernelCache(const KernelCache&) = delete;
  KernelCache& operator=(const KernelCache&) = delete;

  const Kernel& get(const KernelDesc& desc);
  // Waits until every kernel asked for has its pipeline; throws the first creation error (in the
  // order of their keys). Timing a build needs it; recording a Program waits by itself.
  void wait() const;
  Device& device() const { return device_; }
  size_t size() const { return kernels_.size(); }
  // Every kernel asked for, by KernelDesc::key() (shader, workgroup, constants), in key order:
  // what a test looks at to see which variant a layer chose.
  std::vector<std::string> keys() const;
  // Pipeline creations that run at once: the machine's cores.
  unsigned builders() const { return builder_count_; }
  void save() const;
  const std::filesystem::path& cache_file() const { return cache_file_; }

 private:
  struct Layout {
    Unique<VkDescriptorSetLayout> set_layout;
    Unique<VkPipelineLayout> layout;
  };
  const Layout& layout_for(uint32_t bindings, uint32_t texel_reads, uint32_t push_bytes);

  Device& device_;
  std::filesystem::path cache_file_;
  Unique<VkPipelineCache> pipeline_cache_;
  std::map<std::array<uint32_t, 3>, Layout> layouts_;  // (bindings, texel_reads, push bytes)
  unsigned builder_count_;
  std::counting_semaphore<> builders_;  // builder_count_ creations may run at once
  // Declared last: destroyed first, each waiting for its creation, while the cache, the layouts
  // and the semaphore that creation uses still exist.
  std::map<std::string, std::unique_ptr<Kernel>> kernels_;
};

}  // namespace vkm
