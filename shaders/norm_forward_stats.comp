#version 460
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Norm forward (BatchNorm2d training, GroupNorm), pass 1 of 2: the statistics of each H x W plane
// of x. Invocation p = n * C + c walks plane (n, c) and writes partials[p] = (plane mean, plane
// sum of squared deviations). Sums are taken about the plane's first value, so E[x^2] - E[x]^2
// never cancels when |mean| >> std; the last workgroup to finish merges the planes of each
// statistic (norm_finalize.glsl). In the training step the conv before the norm does all this
// (conv2d_forward.comp, STATS): this pass serves a norm whose input comes from elsewhere.
// One plane per invocation: no barriers, and each invocation loops over H*W values (the per-
// invocation overhead of CPU drivers dominates otherwise). VEC4: H*W % 4 == 0, planes are read
// as vec4. PACKED (x NC4HW4, norm_push.glsl): invocation q walks the four planes 4q .. 4q + 3 at
// once, a vec4 of four channels per pixel.
#include "base.glsl"
#include "norm_push.glsl"
#include "reads.glsl"
#define NF_BINDING 1
#include "norm_finalize.glsl"

layout(constant_id = 10) const bool VEC4 = false;
layout(constant_id = 19) const bool PACKED = false;


READONLY_FLOATS4(0, x);  // [N, C, H, W]; the partials are nf_partials [N, C]

void stats4(uint q) {
    const uint base = q * p.plane;
    const vec4 shift = LOAD4(x, base);
    vec4 s1 = vec4(0.0), s2 = vec4(0.0);
    for (uint i = base; i < base + p.plane; ++i) {
      const vec4 d = LOAD4(x, i) - shift;
      s1 += d;
      s2 += d * d;
    }
    const float count = float(p.plane);
    const vec4 mean = shift + s1 / count, m2 = max(s2 - s1 * s1 / count, vec4(0.0));
    [[unroll]] for (uint k = 0; k < 4; ++k) nf_partials[4 * q + k] = vec2(mean[k], m2[k]);
}

void stats(uint plane) {
  const uint base = plane * p.plane;
  const float shift = LOAD(x, base);
  float s1 = 0.0;
  float s2 = 0.0;
  if (VEC4) {
    vec4 a = vec4(0.0);
    vec4 b = vec4(0.0);
    const uint begin = base / 4;
    const uint end = begin + p.plane / 4;
    for (uint i = begin; i < end; ++i) {
      const vec4 d = LOAD4(x, i) - shift;
      a += d;
      b += d * d;
    }
    s1 = (a.x + a.y) + (a.z + a.w);
    s2 = (b.x + b.y) + (b.z + b.w);
  } else {
    for (uint i = base; i < base + p.plane; ++i) {
      const float d = LOAD(x, i) - shift;
      s1 += d;
      s2 += d * d;
    }
  }
  const float count = float(p.plane);
  nf_partials[plane] = vec2(shift + s1 / count, max(s2 - s1 * s1 / count, 0.0));
}

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (PACKED) {
    if (i < p.planes / 4) stats4(i);
  } else if (i < p.planes) {
    stats(i);
  }
  nf_finish(p.n, p.channels, p.plane);
}
