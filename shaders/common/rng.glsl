// Counter-based random numbers: a pure function of (seed, stream, index), so dropout masks and
// augmentation angles are regenerated in backward passes and reruns instead of stored.
// Mirrored bit for bit by nn/reference/rng.hpp.

uint rng_mix(uint x) {  // "lowbias32" integer hash
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// The part of rng_u32 that depends on (seed, stream) only: compute it once per stream, not once
// per index (lavapipe's compiler hoists nothing out of loops).
uint rng_key(uint seed, uint stream) {
  return rng_mix(stream ^ rng_mix(seed ^ 0x9e3779b9u));
}

uint rng_u32(uint seed, uint stream, uint index) {
  return rng_mix(index ^ rng_key(seed, stream));
}

// Uniform in [0, 1) with 24 random bits.
float rng_uniform(uint seed, uint stream, uint index) {
  return float(rng_u32(seed, stream, index) >> 8) * (1.0 / 16777216.0);
}

// rng_uniform(seed, stream, index) for key = rng_key(seed, stream).
float rng_uniform_keyed(uint key, uint index) {
  return float(rng_mix(index ^ key) >> 8) * (1.0 / 16777216.0);
}
