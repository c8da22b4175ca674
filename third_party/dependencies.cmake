# How each dependency is found: the system (Debian) or Vulkan SDK package first.
# A missing one stops configuration naming the package to install; scripts/install-deps
# installs them all.

function(vkmnist_missing what package)
  message(FATAL_ERROR
    "${what} not found. Install it with: sudo apt-get install ${package}\n"
    "(or run scripts/install-deps, which installs everything vkmnist needs)")
endfunction()

find_package(Vulkan QUIET)
if(NOT Vulkan_FOUND)
  vkmnist_missing("Vulkan headers and loader" "libvulkan-dev")
endif()

# Debian ships volk as volk.h + volk.c (no CMake package): build it as a small static library.
find_path(VOLK_INCLUDE_DIR volk.h)
find_file(VOLK_SOURCE volk.c PATHS ${VOLK_INCLUDE_DIR} NO_DEFAULT_PATH)
if(NOT VOLK_INCLUDE_DIR OR NOT VOLK_SOURCE)
  vkmnist_missing("volk (Vulkan meta-loader)" "libvulkan-volk-dev")
endif()
add_library(volk STATIC ${VOLK_SOURCE})
set_target_properties(volk PROPERTIES LINKER_LANGUAGE C POSITION_INDEPENDENT_CODE ON)
target_compile_options(volk PRIVATE -w)  # third-party code: not ours to warn about
target_include_directories(volk SYSTEM PUBLIC ${VOLK_INCLUDE_DIR} ${Vulkan_INCLUDE_DIRS})
target_compile_definitions(volk PUBLIC VK_NO_PROTOTYPES)
target_link_libraries(volk PUBLIC ${CMAKE_DL_LIBS})

find_program(GLSLANG_VALIDATOR glslangValidator)
if(NOT GLSLANG_VALIDATOR)
  vkmnist_missing("glslangValidator (GLSL to SPIR-V compiler)" "glslang-tools")
endif()

find_program(SPIRV_CROSS spirv-cross)
if(NOT SPIRV_CROSS)
  vkmnist_missing("spirv-cross (reflects each shader's bindings, push constants and constants)"
                  "spirv-cross")
endif()
find_package(Python3 QUIET COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  vkmnist_missing("Python 3 (cmake/embed_shader.py embeds each shader)" "python3")
endif()
find_program(SPIRV_VAL spirv-val)
if(NOT SPIRV_VAL)
  vkmnist_missing("spirv-val (SPIR-V validator)" "spirv-tools")
endif()

find_package(glm QUIET CONFIG)
if(NOT glm_FOUND)
  vkmnist_missing("GLM" "libglm-dev")
endif()

find_package(fmt QUIET CONFIG)
if(NOT fmt_FOUND)
  vkmnist_missing("fmt" "libfmt-dev")
endif()

find_package(CLI11 QUIET CONFIG)
if(NOT CLI11_FOUND)
  vkmnist_missing("CLI11" "libcli11-dev")
endif()

find_package(nlohmann_json 3.10 QUIET CONFIG)
if(NOT nlohmann_json_FOUND)
  vkmnist_missing("nlohmann-json" "nlohmann-json3-dev")
endif()

find_package(ZLIB QUIET)
if(NOT ZLIB_FOUND)
  vkmnist_missing("zlib" "zlib1g-dev")
endif()

# libpng decodes the digit images `vkmnist predict` classifies.
find_package(PNG QUIET)
if(NOT PNG_FOUND)
  vkmnist_missing("libpng" "libpng-dev")
endif()

find_package(PkgConfig QUIET)
if(NOT PkgConfig_FOUND)
  vkmnist_missing("pkg-config" "pkg-config")
endif()

# PLplot draws the study's figures (pngcairo driver: plplot-driver-cairo, needed at run time).
pkg_check_modules(PLPLOT QUIET IMPORTED_TARGET plplot)
if(NOT PLPLOT_FOUND)
  vkmnist_missing("PLplot" "libplplot-dev plplot-driver-cairo")
endif()

if(VKMNIST_BUILD_TESTS)
  find_package(GTest QUIET CONFIG)
  if(NOT GTest_FOUND)
    vkmnist_missing("GoogleTest" "googletest libgtest-dev")
  endif()
endif()

find_package(Threads REQUIRED)
