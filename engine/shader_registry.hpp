// The embedded SPIR-V registry: shaders/<name>.comp compiled at build time, found by <name>, with
// what its SPIR-V declares (reflected at build time by cmake/embed_shader.py through
// spirv-cross): the bindings of descriptor set 0, the push-constant block's size and the
// specialization constants. Kernel creation checks each KernelDesc against it.
// Defined by a source the build generates (see shaders/CMakeLists.txt).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace vkm {

struct ShaderBinding {
  uint32_t binding = 0;
  bool texel = false;  // a storage texel buffer (imageBuffer); else a storage buffer
};

enum class ConstantType : uint8_t { kBool, kInt, kUint, kFloat };

struct ShaderConstant {
  uint32_t id = 0;
  std::string_view name;  // empty for the workgroup size's (ids 0, 1, 2)
  ConstantType type = ConstantType::kUint;
};

struct ShaderInfo {
  std::span<const uint32_t> code;
  uint32_t push_constant_bytes = 0;
  std::span<const ShaderBinding> bindings;    // by binding number, each once
  std::span<const ShaderConstant> constants;  // by id
};

// Throws vkm::Error if no shader of that name was built.
const ShaderInfo& shader_info(std::string_view name);
std::vector<std::string_view> shader_names();

}  // namespace vkm
