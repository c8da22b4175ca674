// Dropout fused after a norm's ReLU (DESIGN.md: blocks 3..8 are conv -> norm -> dropout -> ReLU,
// and dropout commutes with ReLU), in norm_forward.comp: the mask is nn/reference's:
// keep = rng_uniform(seed ^ DROP_SALT, global step, flat NCHW index) >= DROP_P, kept values scaled
// by DROP_SCALE = 1 / (1 - p). The kernels that apply a norm as they read its input and the norm's
// backward kernels regenerate the same mask (norm_apply.glsl).
layout(constant_id = 14) const bool DROPOUT = false;
layout(constant_id = 15) const float DROP_P = 0.0;
layout(constant_id = 16) const uint DROP_SALT = 0;
layout(constant_id = 17) const float DROP_SCALE = 1.0;
