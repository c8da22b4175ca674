// Kernels: caching by key, descriptions checked against their shader's reflection, the persisted
// pipeline cache, and the subgroup size kernels really run with.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "engine/error.hpp"
#include "engine/graph.hpp"
#include "engine/instance.hpp"
#include "engine/kernel.hpp"
#include "engine/shader_registry.hpp"
#include "tests/support/gpu_env.hpp"

namespace vkm::test {
namespace {

using KernelTest = GpuTest;

KernelDesc probe_desc(uint32_t width) {
  return {.shader = "subgroup_size_probe", .local_size = {width, 1, 1}, .bindings = 1};
}

TEST_F(KernelTest, SameDescriptionIsBuiltOnce) {
  const Kernel& a = kernels().get(probe_desc(64));
  const Kernel& b = kernels().get(probe_desc(64));
  const Kernel& c = kernels().get(probe_desc(128));
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  KernelDesc with_constant = probe_desc(64);
  with_constant.constant("UNUSED", 3u);
  EXPECT_NE(with_constant.key(), probe_desc(64).key());
}

// The message of the Error that building `desc` throws ("" if it builds).
std::string refusal(KernelCache& kernels, const KernelDesc& desc) {
  try {
    kernels.get(desc);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// log_softmax_nll_forward declares 6 storage buffers, a 20-byte push block and the constant
// GRADIENT (bool, id 10): a description that disagrees in any of these is refused, by a message
// that names the shader and both sides.
TEST_F(KernelTest, DescriptionsThatDisagreeWithTheirShaderAreRefused) {
  const KernelDesc good =
      KernelDesc{.shader = "log_softmax_nll_forward", .push_constant_bytes = 20, .bindings = 6}
          .constant("GRADIENT", true);
  EXPECT_EQ(refusal(kernels(), good), "");
  const std::string who = "kernel log_softmax_nll_forward (shaders/log_softmax_nll_forward.comp";

  KernelDesc push = good;
  push.push_constant_bytes = 16;
  EXPECT_THAT(refusal(kernels(), push),
              ::testing::AllOf(::testing::HasSubstr(who), ::testing::HasSubstr("pushes 16 bytes"),
                               ::testing::HasSubstr("push_constant block is 20")));
  KernelDesc bindings = good;
  bindings.bindings = 5;
  EXPECT_THAT(refusal(kernels(), bindings),
              ::testing::AllOf(::testing::HasSubstr(who), ::testing::HasSubstr("binds 5 buffers"),
                               ::testing::HasSubstr("bindings 0..5")));
  KernelDesc misspelt = good;
  misspelt.constants = {{"GRADIENTS", true}};
  EXPECT_THAT(
      refusal(kernels(), misspelt),
      ::testing::AllOf(::testing::HasSubstr(who), ::testing::HasSubstr("sets constant GRADIENTS"),
                       ::testing::HasSubstr("it declares: GRADIENT")));
  KernelDesc typed = good;
  typed.constants = {{"GRADIENT", 1u}};
  EXPECT_THAT(refusal(kernels(), typed),
              ::testing::HasSubstr("constant GRADIENT is a bool in the shader but a uint"));
  KernelDesc reserved = good;
  reserved.constants = {{"USE_SUBGROUP_OPS", false}};
  EXPECT_THAT(refusal(kernels(), reserved), ::testing::HasSubstr("reserved id 3"));
  KernelDesc texel = good;
  texel.texel_reads = 0b1;  // the shader has no texel variant
  EXPECT_THAT(refusal(kernels(), texel),
              ::testing::HasSubstr("no shader named 'log_softmax_nll_forward.texel'"));
  EXPECT_THAT(refusal(kernels(), {.shader = "no_such_shader", .bindings = 1}),
              ::testing::HasSubstr("no shader named 'no_such_shader'"));
}

// A texel variant's bindings: which are texel buffers is the shader's to say.
TEST_F(KernelTest, TexelBindingsMustMatchTheShadersTexelBuffers) {
  const ShaderInfo& info = shader_info("maxpool2d_forward.texel");
  uint32_t texel = 0, declared = 0;
  for (const ShaderBinding& b : info.bindings) {
    texel |= b.texel ? 1u << b.binding : 0u;
    declared = b.binding + 1;
  }
  ASSERT_NE(texel, 0u);
  ASSERT_NE(texel, (1u << declared) - 1);  // some binding is a storage buffer
  KernelDesc d{.shader = "maxpool2d_forward",
               .push_constant_bytes = info.push_constant_bytes,
               .bindings = declared,
               .texel_reads = ((1u << declared) - 1) & ~texel};  // the others instead
  EXPECT_THAT(refusal(kernels(), d), ::testing::HasSubstr("in the shader but"));
}

TEST_F(KernelTest, PipelineCacheIsSavedAndReloaded) {
  const auto file = std::filesystem::temp_directory_path() / "vkmnist-kernel-test-cache.bin";
  std::filesystem::remove(file);
  {
    KernelCache cache(device(), file);
    cache.get(probe_desc(32));
  }
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_GT(std::filesystem::file_size(file), 0u);
  KernelCache reloaded(device(), file);
  EXPECT_NO_THROW(reloaded.get(probe_desc(32)));
  std::filesystem::remove(file);
}

// Pipelines are created on threads of their own (engine/kernel.hpp): kernels asked for together
// each get a pipeline of their own, and a cache destroyed while its creations are under way waits
// for them and destroys what they made (the validation layer, on in this suite, reports a
// pipeline left behind when the device goes).
TEST_F(KernelTest, KernelsAskedForTogetherAreBuiltConcurrently) {
  std::vector<const Kernel*> built;
  for (uint32_t width = 32; width <= 256; width += 32)
    built.push_back(&kernels().get(probe_desc(width)));
  std::vector<VkPipeline> pipelines;
  for (const Kernel* k : built) pipelines.push_back(k->pipeline());
  for (size_t i = 0; i < pipelines.size(); ++i) {
    EXPECT_NE(pipelines[i], VK_NULL_HANDLE);
    EXPECT_EQ(built[i]->pipeline(), pipelines[i])
        << "the second call waits for nothing, returns the same";
    for (size_t j = 0; j < i; ++j) EXPECT_NE(pipelines[i], pipelines[j]);
  }
  const auto file = std::filesystem::temp_directory_path() / "vkmnist-kernel-test-abandoned.bin";
  {
    KernelCache abandoned(device(), file);
    for (uint32_t width = 32; width <= 256; width += 32) abandoned.get(probe_desc(width));
  }
  EXPECT_TRUE(std::filesystem::exists(file)) << "saved once every creation had finished";
  std::filesystem::remove(file);
}

// The subgroup size the kernels get is the one the configuration asked for: proves that the
// suite really runs at each lavapipe subgroup size (LP_NATIVE_VECTOR_WIDTH), not at the default.
TEST_F(KernelTest, KernelsRunAtTheExpectedSubgroupSize) {
  const uint32_t groups = 3;
  for (uint32_t width : {32u, 64u, 128u}) {
    const Kernel& kernel = kernels().get(probe_desc(width));
    Buffer out = device().buffer(groups * 4 * sizeof(uint32_t), "probe");
    Graph g;
    g.dispatch_bytes(kernel, {writes(out)}, {}, {groups * width, 1, 1});
    Program(device(), g).run();
    std::vector<uint32_t> facts(groups * 4);
    device().download(out, std::as_writable_bytes(std::span(facts)));
    const uint32_t size = facts[0];
    EXPECT_GE(size, device().info().min_subgroup_size);
    EXPECT_LE(size, device().info().max_subgroup_size);
    // What the reductions rely on: gl_NumSubgroups counts the distinct gl_SubgroupIDs, and
    // subgroups of at most gl_SubgroupSize lanes tile the workgroup. (lavapipe at 1024 bits
    // reports 32 but runs 16 lanes: allowed here, handled by reduce.glsl.)
    EXPECT_EQ(facts[1], facts[2]) << "gl_NumSubgroups vs distinct gl_SubgroupID, width " << width;
    EXPECT_LE(facts[3], size) << "lanes counted by subgroupAdd exceed gl_SubgroupSize";
    EXPECT_GE(facts[3] * facts[1], width) << "subgroups do not cover the workgroup";
    EXPECT_EQ(facts[3], (width + facts[1] - 1) / facts[1]) << "lanes per subgroup, width " << width;
    if (const char* expected = std::getenv("VKMNIST_EXPECT_SUBGROUP_SIZE");
        expected != nullptr && device().info().driver_name == "llvmpipe") {
      EXPECT_EQ(size, std::strtoul(expected, nullptr, 10))
          << "LP_NATIVE_VECTOR_WIDTH did not give the expected subgroup size";
    }
  }
}

// The suite runs twice over the read paths (tests/CMakeLists.txt): texel reads by default, where
// lavapipe offers them, and storage buffers with VKMNIST_NO_TEXEL_BUFFERS=1. This proves which one
// the op tests in this process exercised.
TEST_F(KernelTest, ReadPathIsTheConfiguredOne) {
  if (env_flag("VKMNIST_NO_TEXEL_BUFFERS")) {
    EXPECT_FALSE(device().texel_reads());
    EXPECT_EQ(device().texel_reads_for(0b11, 1024), 0u);
  } else if (device().info().driver_name == "llvmpipe") {
    EXPECT_TRUE(device().texel_reads()) << "lavapipe offers r32f storage texel buffers";
    EXPECT_EQ(device().texel_reads_for(0b11, 1024), 0b11u);
  }
  // Past maxTexelBufferElements a tensor falls back to storage buffers.
  const VkDeviceSize too_big = (VkDeviceSize{device().info().max_texel_buffer_elements} + 1) * 4;
  EXPECT_EQ(device().texel_reads_for(0b1, too_big), 0u);
}

// Both variants of a shader that reads through reads.glsl (the global average pool: planes of 7)
// give the same result, and a texel-read binding that the dispatch would write is refused.
TEST_F(KernelTest, TexelAndStorageVariantsAgree) {
  // Built explicitly: this holds whether or not VKMNIST_NO_TEXEL_BUFFERS turned the layers' use
  // off.
  ASSERT_TRUE(device().info().r32f_storage_texel_buffers);
  const uint32_t planes = 150, plane = 7, count = planes * plane;
  std::vector<float> x(count);
  for (uint32_t i = 0; i < count; ++i) x[i] = static_cast<float>(i % 11) - 5.0f;
  Buffer in = device().buffer(count * sizeof(float), "x");
  device().upload(in, std::as_bytes(std::span(x)));
  struct Push {
    uint32_t planes, plane;
    float inv_plane;
    uint32_t step, channels;
  };
  const Push push{planes, plane, 1.0f / plane, 0, 1};
  const Buffer* out_buffer = nullptr;
  // Bindings 2..7 are the fused input norm's (norm_apply.glsl), unread without one.
  Buffer unused = device().buffer(16, "unused");
  const auto bindings = [&](Binding input) {
    std::vector<Binding> b{input, writes(*out_buffer)};
    for (int i = 0; i < 6; ++i) b.push_back(reads(unused));
    return b;
  };
  std::vector<std::vector<float>> results;
  for (uint32_t texel : {0u, 1u}) {
    const Kernel& pool = kernels().get({.shader = "avgpool_global_forward",
                                        .local_size = {64, 1, 1},
                                        .push_constant_bytes = sizeof(Push),
                                        .bindings = 8,
                                        .texel_reads = texel});
    Buffer out = device().buffer(planes * sizeof(float), "y");
    out_buffer = &out;
    device().fill(out, 0x7FC00000u);
    Graph g;
    g.dispatch(pool, bindings(reads(in)), push, {planes, 1, 1});
    Program(device(), g).run();
    results.emplace_back(planes);
    device().download(out, std::as_writable_bytes(std::span(results.back())));
    for (uint32_t q = 0; q < planes; ++q) {
      double sum = 0.0;
      for (uint32_t i = 0; i < plane; ++i) sum += x[q * plane + i];
      ASSERT_NEAR(results.back()[q], sum / plane, 1e-6) << "plane " << q << ", texel " << texel;
    }
    if (texel != 0) {
      Graph bad;
      EXPECT_THROW(bad.dispatch(pool, bindings(writes(in)), push, {planes, 1, 1}), Error);
    }
  }
  EXPECT_EQ(results[0], results[1]);
}

// bench_copy's three variants (storage buffer, r32f and rgba32f texel reads) copy exactly.
TEST_F(KernelTest, TexelReadVariantsCopyExactly) {
  ASSERT_TRUE(device().info().rgba32f_storage_texel_buffers);
  const uint32_t vec4s = 1000;
  std::vector<uint32_t> pattern(vec4s * 4);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint32_t>(i * 2654435761u);
  Buffer src = device().buffer(vec4s * 16, "src");
  device().upload(src, std::as_bytes(std::span(pattern)));
  struct Push {
    uint32_t count, per_group;
  };
  for (const auto& [texel, vec4] :
       {std::pair{0u, false}, std::pair{1u, false}, std::pair{1u, true}}) {
    const Kernel& copy = kernels().get({.shader = "bench_copy",
                                        .local_size = {64, 1, 1},
                                        .push_constant_bytes = sizeof(Push),
                                        .bindings = 2,
                                        .texel_reads = texel,
                                        .texel_vec4 = vec4});
    Buffer dst = device().buffer(vec4s * 16, "dst");
    device().fill(dst, 0);
    Graph g;
    g.dispatch(copy, {reads(src), writes(dst)}, Push{vec4s, 256}, {4 * 64, 1, 1});
    Program(device(), g).run();
    std::vector<uint32_t> got(pattern.size());
    device().download(dst, std::as_writable_bytes(std::span(got)));
    EXPECT_EQ(got, pattern) << "texel " << texel << ", vec4 " << vec4;
  }
  // In one program, on the same buffers: each variant gets the view it declares (r32f, then
  // rgba32f), not a descriptor set shared because the buffers match.
  const auto kernel = [&](bool vec4) -> const Kernel& {
    return kernels().get({.shader = "bench_copy",
                          .local_size = {64, 1, 1},
                          .push_constant_bytes = sizeof(Push),
                          .bindings = 2,
                          .texel_reads = 1,
                          .texel_vec4 = vec4});
  };
  Buffer dst = device().buffer(vec4s * 16, "dst");
  Graph g;
  g.dispatch(kernel(false), {reads(src), writes(dst)}, Push{vec4s, 256}, {4 * 64, 1, 1});
  g.fill(dst, 0);
  g.dispatch(kernel(true), {reads(src), writes(dst)}, Push{vec4s, 256}, {4 * 64, 1, 1});
  Program program(device(), g);
  EXPECT_EQ(program.descriptor_sets(), 2u);
  program.run();
  std::vector<uint32_t> got(pattern.size());
  device().download(dst, std::as_writable_bytes(std::span(got)));
  EXPECT_EQ(got, pattern) << "r32f then rgba32f in one program";
}

// reduce.glsl's workgroup_sum at every power-of-two workgroup size from 1 to 1024: against the
// sum in double, every invocation receiving the same total, and bitwise the same on a rerun. With
// the suite's subgroups of 4 to 32 lanes this covers the ratios of workgroup to subgroup that
// subgroups of 64 and 128 lanes give workgroups of 32 to 1024 (a subgroup wider than its
// workgroup included), the sizes lavapipe cannot produce; VKMNIST_NO_SUBGROUP_OPS=1 runs the
// shared-memory tree instead.
TEST_F(KernelTest, WorkgroupSumAtEveryRatioOfWorkgroupToSubgroup) {
  constexpr uint32_t kGroups = 3;
  for (uint32_t size = 1; size <= 1024; size *= 2) {
    const Kernel& probe =
        kernels().get({.shader = "workgroup_sum_probe", .local_size = {size, 1, 1}, .bindings = 2});
    const uint32_t n = size * kGroups;
    std::vector<float> values(2 * size_t{n});
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    }
    Buffer in = device().buffer(values.size() * sizeof(float), "values");
    device().upload(in, std::as_bytes(std::span(values)));
    Buffer out = device().buffer(kGroups * 4 * sizeof(float), "totals");
    Graph g;
    g.dispatch_bytes(probe, {reads(in), writes(out)}, {}, {n, 1, 1});
    Program program(device(), g);
    std::vector<float> results[2];
    for (auto& got : results) {
      device().fill(out, 0x7fc00000u);  // NaN: an unwritten total fails
      program.run();
      got.resize(kGroups * 4);
      device().download(out, std::as_writable_bytes(std::span(got)));
    }
    for (uint32_t w = 0; w < kGroups; ++w) {
      double want[2] = {0.0, 0.0};
      for (uint32_t i = 0; i < size; ++i) {
        for (int k = 0; k < 2; ++k) want[k] += values[2 * (size_t{w} * size + i) + k];
      }
      for (int k = 0; k < 2; ++k) {
        EXPECT_NEAR(results[0][4 * w + k], want[k], 1e-5 * size)
            << "workgroup " << size << ", group " << w << ", component " << k;
      }
      EXPECT_EQ(results[0][4 * w + 2], 0.0f)
          << "invocations with another total, workgroup " << size << ", group " << w;
    }
    EXPECT_EQ(std::memcmp(results[0].data(), results[1].data(), results[0].size() * 4), 0)
        << "rerun differs, workgroup " << size;
  }
}

}  // namespace
}  // namespace vkm::test
