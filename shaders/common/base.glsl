// Shared prologue of every compute shader: Vulkan 1.2 GLSL, subgroup extensions, the workgroup
// tile and the reserved specialization constants (engine/kernel.hpp lists their ids).
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

layout(local_size_x_id = 0, local_size_y_id = 1, local_size_z_id = 2) in;

// False when VKMNIST_NO_SUBGROUP_OPS=1: reductions go through shared memory only.
layout(constant_id = 3) const bool USE_SUBGROUP_OPS = true;
