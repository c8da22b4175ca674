// Read-only float tensors, declared so that one source builds two variants (shaders/CMakeLists.txt
// compiles every shader that includes this file twice):
//   plain:           a readonly storage buffer, indexed;
//   VKM_TEXEL_READS: an r32f storage texel buffer (imageBuffer), read with imageLoad.
// lavapipe turns a storage-buffer load into a loop over the SIMD lanes (a bounds check and a
// scalar load each), but an imageLoad into the sampler's vectorised fetch: several times cheaper.
// The engine binds the texel variant when KernelDesc::texel_reads names the binding.
//
//   READONLY_FLOATS(0, x);     declares x
//   LOAD(x, i)                 x[i] as a float
#ifdef VKM_TEXEL_READS
#define READONLY_FLOATS(binding_, name_) \
  layout(set = 0, binding = binding_, r32f) uniform readonly imageBuffer name_
#define LOAD(name_, index_) imageLoad(name_, int(index_)).x
#else
#define READONLY_FLOATS(binding_, name_) \
  layout(set = 0, binding = binding_) readonly buffer name_##_block { float name_[]; }
#define LOAD(name_, index_) name_[index_]
#endif

// The same with a vec4 view for kernels that stream whole vec4s (index in vec4s):
//   READONLY_FLOATS4(0, x);    declares x (and, plain, its vec4 alias x4)
//   LOAD4(x, i)                floats 4i .. 4i + 3 as a vec4
#ifdef VKM_TEXEL_READS
#define READONLY_FLOATS4(binding_, name_) READONLY_FLOATS(binding_, name_)
#define LOAD4(name_, index_)                                                         \
  vec4(imageLoad(name_, int(4 * (index_))).x, imageLoad(name_, int(4 * (index_) + 1)).x, \
       imageLoad(name_, int(4 * (index_) + 2)).x, imageLoad(name_, int(4 * (index_) + 3)).x)
#else
#define READONLY_FLOATS4(binding_, name_)                                                  \
  layout(set = 0, binding = binding_) readonly buffer name_##_block { float name_[]; };    \
  layout(set = 0, binding = binding_) readonly buffer name_##4_block { vec4 name_##4[]; }
#define LOAD4(name_, index_) name_##4[index_]
#endif
