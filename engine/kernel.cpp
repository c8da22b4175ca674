// Pipeline creation with specialization constants and subgroup size control; the persisted cache.
#include "engine/kernel.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include "engine/atomic_file.hpp"
#include "engine/device.hpp"
#include "engine/error.hpp"
#include "engine/shader_registry.hpp"

namespace vkm {

namespace {

constexpr uint32_t kFirstUserConstant = 10;

std::string value_string(const std::variant<int32_t, uint32_t, float, bool>& v) {
  return std::visit([](auto x) { return fmt::format("{}", x); }, v);
}

uint32_t value_bits(const std::variant<int32_t, uint32_t, float, bool>& v) {
  return std::visit(
      [](auto x) -> uint32_t {
        using T = decltype(x);
        if constexpr (std::is_same_v<T, bool>) {
          return x ? 1u : 0u;  // VkBool32
        } else {
          uint32_t bits = 0;
          static_assert(sizeof(T) == 4);
          std::memcpy(&bits, &x, 4);
          return bits;
        }
      },
      v);
}

const char* type_name(ConstantType t) {
  switch (t) {
    case ConstantType::kBool:
      return "bool";
    case ConstantType::kInt:
      return "int";
    case ConstantType::kUint:
      return "uint";
    case ConstantType::kFloat:
      return "float";
  }
  return "?";
}

ConstantType type_of(const std::variant<int32_t, uint32_t, float, bool>& v) {
  constexpr ConstantType kTypes[] = {ConstantType::kInt, ConstantType::kUint, ConstantType::kFloat,
                                     ConstantType::kBool};
  return kTypes[v.index()];
}

// What the description says against what the shader declares; the first disagreement throws.
// Returns the constants' ids.
std::vector<uint32_t> check_against_shader(const KernelDesc& desc, std::string_view variant,
                                           const ShaderInfo& info) {
  const std::string who =
      fmt::format("kernel {} (shaders/{}.comp, SPIR-V {})", desc.shader, desc.shader, variant);
  if (desc.push_constant_bytes != info.push_constant_bytes) {
    throw Error(fmt::format(
        "{}: the C++ side pushes {} bytes of constants, the shader's push_constant block is {}",
        who, desc.push_constant_bytes, info.push_constant_bytes));
  }
  // Every binding the shader declares must be bound; a layout may bind more (kernels of two
  // shapes share one list of bindings, and a shape's shader may leave some unused).
  const uint32_t declared = info.bindings.empty() ? 0 : info.bindings.back().binding + 1;
  if (desc.bindings < declared) {
    throw Error(fmt::format("{}: the C++ side binds {} buffers, the shader declares bindings 0..{}",
                            who, desc.bindings, declared - 1));
  }
  for (const ShaderBinding& b : info.bindings) {
    const bool texel = b.binding < 32 && ((desc.texel_reads >> b.binding) & 1u) != 0;
    if (texel != b.texel) {
      throw Error(fmt::format("{}: binding {} is {} in the shader but {} on the C++ side", who,
                              b.binding, b.texel ? "a texel buffer" : "a storage buffer",
                              texel ? "a texel read" : "a storage buffer"));
    }
  }
  std::vector<uint32_t> ids;
  for (const SpecConstant& c : desc.constants) {
    const auto it = std::find_if(info.constants.begin(), info.constants.end(),
                                 [&](const ShaderConstant& s) { return s.name == c.name; });
    if (it == info.constants.end()) {
      std::vector<std::string_view> names;
      for (const ShaderConstant& s : info.constants) {
        if (s.id >= kFirstUserConstant) names.push_back(s.name);
      }
      throw Error(fmt::format(
          "{}: the C++ side sets constant {}, which the shader does not declare "
          "(it declares: {})",
          who, c.name, names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
    }
    if (it->id < kFirstUserConstant) {
      throw Error(fmt::format("{}: constant {} has the reserved id {}", who, c.name, it->id));
    }
    if (it->type != type_of(c.value)) {
      throw Error(fmt::format("{}: constant {} is a {} in the shader but a {} on the C++ side", who,
                              c.name, type_name(it->type), type_name(type_of(c.value))));
    }
    ids.push_back(it->id);
  }
  return ids;
}

// The subgroup size a pipeline is created with: the kernel's own, else the device-wide request,
// clamped to the device's range; 0 (any) where neither asks or the device has no size control.
uint32_t subgroup_size_for(const KernelDesc& desc, const DeviceInfo& info, uint32_t request) {
  const uint32_t wanted = desc.subgroup_size != 0 ? desc.subgroup_size : request;
  if (wanted == 0 || !info.subgroup_size_control) return 0;
  return std::clamp(wanted, info.min_subgroup_size, info.max_subgroup_size);
}

std::filesystem::path default_cache_file(const DeviceInfo& info) {
  std::filesystem::path base;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] != '\0') {
    base = xdg;
  } else if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') {
    base = std::filesystem::path(home) / ".cache";
  } else {
    return {};
  }
  std::string device = info.name;
  for (char& c : device) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return base / "vkmnist" /
         fmt::format("pipelines-{:04x}-{}-{:08x}.bin", info.vendor_id, device, info.driver_version);
}

}  // namespace

std::string KernelDesc::key() const {
  std::string k = fmt::format("{}|{}x{}x{}|push{}|bind{}|texel{:x}{}|sg{}", shader, local_size[0],
                              local_size[1], local_size[2], push_constant_bytes, bindings,
                              texel_reads, texel_vec4 ? "v4" : "", subgroup_size);
  for (const auto& c : constants) k += fmt::format("|{}={}", c.name, value_string(c.value));
  return k;
}

Kernel::Kernel(Device& device, const KernelDesc& desc, VkPipelineCache cache,
               VkDescriptorSetLayout set_layout, VkPipelineLayout layout,
               std::counting_semaphore<>& builders)
    : desc_(desc), set_layout_(set_layout), layout_(layout) {
  const DeviceInfo& info = device.info();
  const uint32_t invocations = desc.local_size[0] * desc.local_size[1] * desc.local_size[2];
  if (invocations == 0 || invocations > info.max_workgroup_invocations) {
    throw Error(fmt::format("kernel {}: workgroup of {} invocations (device allows 1..{})",
                            desc.shader, invocations, info.max_workgroup_invocations));
  }
  if (desc.push_constant_bytes > info.max_push_constants) {
    throw Error(fmt::format("kernel {}: {} push-constant bytes (device allows {})", desc.shader,
                            desc.push_constant_bytes, info.max_push_constants));
  }

  // Specialization data: reserved ids first, then the kernel's own, one 32-bit word each.
  std::vector<VkSpecializationMapEntry> entries;
  std::vector<uint32_t> data;
  auto add = [&](uint32_t id, uint32_t bits) {
    entries.push_back({id, static_cast<uint32_t>(data.size() * 4), 4});
    data.push_back(bits);
  };
  add(0, desc.local_size[0]);
  add(1, desc.local_size[1]);
  add(2, desc.local_size[2]);
  add(3, device.subgroup_ops() ? 1u : 0u);
  if (desc.texel_reads >> std::min(desc.bindings, 31u) != 0) {
    throw Error(fmt::format("kernel {}: texel reads name a binding past its {}", desc.shader,
                            desc.bindings));
  }
  const std::string variant = desc.texel_reads == 0 ? desc.shader
                              : desc.texel_vec4     ? desc.shader + ".texel4"
                                                    : desc.shader + ".texel";
  const ShaderInfo& shader = shader_info(variant);
  const std::vector<uint32_t> ids = check_against_shader(desc, variant, shader);
  for (size_t i = 0; i < desc.constants.size(); ++i)
    add(ids[i], value_bits(desc.constants[i].value));
  // What the creation needs travels with it: the specialization data, the shader module and the
  // stage's subgroup request, all by value.
  const uint32_t required = subgroup_size_for(desc, info, device.subgroup_size_request());
  required_subgroup_size_ = required;
  // Full subgroups need the x extent to be a multiple of the subgroup size, and the number of
  // subgroups within the device's limit; otherwise only the size is required.
  const bool full = required != 0 && desc.local_size[0] % required == 0 &&
                    invocations / required <= info.max_compute_workgroup_subgroups;
  const auto code = shader.code;
  VkShaderModuleCreateInfo module_info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  module_info.codeSize = code.size_bytes();
  module_info.pCode = code.data();
  VkShaderModule module_handle = VK_NULL_HANDLE;
  VKM_CHECK(vkCreateShaderModule(device.get(), &module_info, nullptr, &module_handle));
  Unique<VkShaderModule> module(device.get(), module_handle, vkDestroyShaderModule);

  // A thread of its own where the system has one to spare; where it has not (EAGAIN), the
  // creation runs on the thread that first needs the pipeline (libstdc++'s async with both
  // policies).
  pending_ = std::async(
      std::launch::async | std::launch::deferred,
      [vk_device = device.get(), cache, layout, &builders, module = std::move(module),
       entries = std::move(entries), data = std::move(data), required, full]() {
        builders.acquire();
        struct Release {
          std::counting_semaphore<>& s;
          ~Release() { s.release(); }
        } release{builders};
        VkSpecializationInfo spec{};
        spec.mapEntryCount = static_cast<uint32_t>(entries.size());
        spec.pMapEntries = entries.data();
        spec.dataSize = data.size() * 4;
        spec.pData = data.data();
        VkPipelineShaderStageRequiredSubgroupSizeCreateInfo size_info{
            VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO};
        VkPipelineShaderStageCreateInfo stage{VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
        stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
        stage.module = module.get();
        stage.pName = "main";
        stage.pSpecializationInfo = &spec;
        if (required != 0) {
          size_info.requiredSubgroupSize = required;
          stage.pNext = &size_info;
          if (full) stage.flags |= VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT;
        }
        VkComputePipelineCreateInfo pipeline_info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
        pipeline_info.stage = stage;
        pipeline_info.layout = layout;
        VkPipeline pipeline = VK_NULL_HANDLE;
        VKM_CHECK(
            vkCreateComputePipelines(vk_device, cache, 1, &pipeline_info, nullptr, &pipeline));
        return Unique<VkPipeline>(vk_device, pipeline, vkDestroyPipeline);
      });
}

VkPipeline Kernel::pipeline() const {
  std::lock_guard lock(mutex_);
  if (pending_.valid()) {
    try {
      pipeline_ = pending_.get();
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  if (error_) std::rethrow_exception(error_);
  return pipeline_.get();
}

KernelCache::KernelCache(Device& device, std::filesystem::path cache_file)
    : device_(device),
      cache_file_(cache_file.empty() ? default_cache_file(device.info()) : std::move(cache_file)),
      builder_count_(std::max(1u, std::thread::hardware_concurrency())),
      builders_(builder_count_) {
  std::vector<char> initial;
  if (!cache_file_.empty()) {
    std::ifstream in(cache_file_, std::ios::binary);
    if (in) initial.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  VkPipelineCacheCreateInfo info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  info.initialDataSize = initial.size();
  info.pInitialData = initial.empty() ? nullptr : initial.data();
  VkPipelineCache cache = VK_NULL_HANDLE;
  // A stale or foreign cache file is rejected by the driver's header check; start empty then.
  if (vkCreatePipelineCache(device.get(), &info, nullptr, &cache) != VK_SUCCESS) {
    info.initialDataSize = 0;
    info.pInitialData = nullptr;
    VKM_CHECK(vkCreatePipelineCache(device.get(), &info, nullptr, &cache));
  }
  pipeline_cache_ = Unique<VkPipelineCache>(device.get(), cache, vkDestroyPipelineCache);
}

KernelCache::~KernelCache() {
  try {
    save();
  } catch (...) {
    // Saving the cache is an optimisation; never fail a run over it.
  }
}

std::vector<std::string> KernelCache::keys() const {
  std::vector<std::string> keys;
  keys.reserve(kernels_.size());
  for (const auto& entry : kernels_) keys.push_back(entry.first);
  return keys;
}

void KernelCache::wait() const {
  for (const auto& [key, kernel] : kernels_) kernel->pipeline();
}

void KernelCache::save() const {
  if (cache_file_.empty()) return;
  // Every creation finished first, so that the cache holds them all (a failed one adds nothing).
  for (const auto& [key, kernel] : kernels_) {
    try {
      kernel->pipeline();
    } catch (const std::exception&) {
      // Its error reaches whoever uses the kernel; the cache just goes without it.
    }
  }
  size_t size = 0;
  VKM_CHECK(vkGetPipelineCacheData(device_.get(), pipeline_cache_.get(), &size, nullptr));
  std::vector<char> data(size);
  VKM_CHECK(vkGetPipelineCacheData(device_.get(), pipeline_cache_.get(), &size, data.data()));
  std::error_code ec;
  std::filesystem::create_directories(cache_file_.parent_path(), ec);
  // An interrupted or concurrent save never leaves half a file (best effort: the caller ignores a
  // failure).
  write_file_atomically(cache_file_, std::as_bytes(std::span(data.data(), size)));
}

const KernelCache::Layout& KernelCache::layout_for(uint32_t bindings, uint32_t texel_reads,
                                                   uint32_t push_bytes) {
  auto [it, inserted] = layouts_.try_emplace({bindings, texel_reads, push_bytes});
  if (!inserted) return it->second;
  std::vector<VkDescriptorSetLayoutBinding> binding_info(bindings);
  for (uint32_t i = 0; i < bindings; ++i) {
    const bool texel = (texel_reads >> i) & 1u;
    binding_info[i] = {
        i, texel ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1,
        VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  }
  VkDescriptorSetLayoutCreateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  set_info.bindingCount = bindings;
  set_info.pBindings = binding_info.data();
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VKM_CHECK(vkCreateDescriptorSetLayout(device_.get(), &set_info, nullptr, &set_layout));
  it->second.set_layout =
      Unique<VkDescriptorSetLayout>(device_.get(), set_layout, vkDestroyDescriptorSetLayout);

  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
  VkPipelineLayoutCreateInfo layout_info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout_info.setLayoutCount = 1;
  layout_info.pSetLayouts = &set_layout;
  layout_info.pushConstantRangeCount = push_bytes > 0 ? 1 : 0;
  layout_info.pPushConstantRanges = &range;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VKM_CHECK(vkCreatePipelineLayout(device_.get(), &layout_info, nullptr, &layout));
  it->second.layout = Unique<VkPipelineLayout>(device_.get(), layout, vkDestroyPipelineLayout);
  return it->second;
}

const Kernel& KernelCache::get(const KernelDesc& desc) {
  const std::string key = desc.key();
  if (auto it = kernels_.find(key); it != kernels_.end()) return *it->second;
  if (desc.push_constant_bytes % 4 != 0) {
    throw Error(fmt::format("kernel {}: push constants of {} bytes (must be a multiple of 4)",
                            desc.shader, desc.push_constant_bytes));
  }
  const Layout& layout = layout_for(desc.bindings, desc.texel_reads, desc.push_constant_bytes);
  auto kernel = std::make_unique<Kernel>(device_, desc, pipeline_cache_.get(),
                                         layout.set_layout.get(), layout.layout.get(), builders_);
  return *kernels_.emplace(key, std::move(kernel)).first->second;
}

}  // namespace vkm
