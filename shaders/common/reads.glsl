// Read-only float tensors, declared so that one source builds several variants
// (shaders/CMakeLists.txt compiles every shader that includes this file more than once):
//   plain:                             a readonly storage buffer, indexed;
//   VKM_TEXEL_READS:                   an r32f storage texel buffer (imageBuffer), one float per
//                                      imageLoad;
//   VKM_TEXEL_READS + VKM_TEXEL_VEC4:  an rgba32f storage texel buffer, four floats per imageLoad
//                                      (the <shader>.texel4 variant of a shader that declares
//                                      READONLY_FLOATS4; its tensors must hold whole vec4s).
// lavapipe turns a storage-buffer load into a loop over the SIMD lanes (a bounds check and a
// scalar load each), but an imageLoad into the sampler's vectorised fetch: several times cheaper,
// and a fetch of four floats costs about what a fetch of one does. The engine binds the texel
// variants when KernelDesc::texel_reads names the binding (KernelDesc::texel_vec4: rgba32f).
//
//   READONLY_FLOATS(0, x);     declares x
//   READONLY_FLOATS4(0, x);    declares x for vec4 reads too (plain: with its vec4 alias x4)
//   LOAD(x, i)                 x[i] as a float
//   LOAD4(x, i)                floats 4i .. 4i + 3 as a vec4 (READONLY_FLOATS4 only)
#if defined(VKM_TEXEL_READS) && defined(VKM_TEXEL_VEC4)
#define READONLY_FLOATS(binding_, name_) \
  layout(set = 0, binding = binding_, rgba32f) uniform readonly imageBuffer name_
#define READONLY_FLOATS4(binding_, name_) READONLY_FLOATS(binding_, name_)
#define LOAD(name_, index_) imageLoad(name_, int(index_) >> 2)[int(index_) & 3]
#define LOAD4(name_, index_) imageLoad(name_, int(index_))
#elif defined(VKM_TEXEL_READS)
#define READONLY_FLOATS(binding_, name_) \
  layout(set = 0, binding = binding_, r32f) uniform readonly imageBuffer name_
#define READONLY_FLOATS4(binding_, name_) READONLY_FLOATS(binding_, name_)
#define LOAD(name_, index_) imageLoad(name_, int(index_)).x
#define LOAD4(name_, index_)                                                         \
  vec4(imageLoad(name_, int(4 * (index_))).x, imageLoad(name_, int(4 * (index_) + 1)).x, \
       imageLoad(name_, int(4 * (index_) + 2)).x, imageLoad(name_, int(4 * (index_) + 3)).x)
#else
#define READONLY_FLOATS(binding_, name_) \
  layout(set = 0, binding = binding_) readonly buffer name_##_block { float name_[]; }
#define READONLY_FLOATS4(binding_, name_)                                                  \
  layout(set = 0, binding = binding_) readonly buffer name_##_block { float name_[]; };    \
  layout(set = 0, binding = binding_) readonly buffer name_##4_block { vec4 name_##4[]; }
#define LOAD(name_, index_) name_[index_]
#define LOAD4(name_, index_) name_##4[index_]
#endif
