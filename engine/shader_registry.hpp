// The embedded SPIR-V registry: shaders/<name>.comp compiled at build time, found by <name>.
// Defined by a source the build generates (see shaders/CMakeLists.txt).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace vkm {

// Throws vkm::Error if no shader of that name was built.
std::span<const uint32_t> shader_code(std::string_view name);
std::vector<std::string_view> shader_names();

}  // namespace vkm
