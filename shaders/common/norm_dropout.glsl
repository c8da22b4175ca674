// Dropout fused after a norm's ReLU (DESIGN.md: blocks 3..8 are conv -> norm -> dropout -> ReLU,
// and dropout commutes with ReLU), so the norm's kernels write and read the dropped activation
// directly; the separate dropout pass and its tensor are gone. The mask is nn/reference's:
// keep = rng_uniform(seed ^ DROP_SALT, global step, flat NCHW index) >= DROP_P, kept values scaled
// by DROP_SCALE = 1 / (1 - p). Backward needs no RNG: with y = dropout(relu(v)), y > 0 exactly
// where the ReLU passed and the element was kept, and the gradient there is dy * DROP_SCALE.
layout(constant_id = 14) const bool DROPOUT = false;
layout(constant_id = 15) const float DROP_P = 0.0;
layout(constant_id = 16) const uint DROP_SALT = 0;
layout(constant_id = 17) const float DROP_SCALE = 1.0;

// The gradient reaching the norm's output through ReLU (+ dropout): y is the layer's output.
float relu_dropout_backward(float y, float dy) {
  return y > 0.0 ? (DROPOUT ? dy * DROP_SCALE : dy) : 0.0;
}
vec4 relu_dropout_backward(vec4 y, vec4 dy) {
  return mix(vec4(0.0), DROPOUT ? dy * DROP_SCALE : dy, greaterThan(y, vec4(0.0)));
}
