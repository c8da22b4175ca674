// Where conv2d_backward.comp leaves a conv weight's per-lane partial sums (nn::WeightPartials):
// lane l's sum for weight i (OIHW, `row` = C_IN * K * K values per output channel) is at
//   weight_partial(i, ...) + l * stride,
// where the tile t = the input-channel tile of i (`tile` = CI_TILE * K * K values of each output
// channel) holds [lanes, stride] sums, each lane's set [C_OUT, CI_TILE, K, K] padded to `stride`.
// Used by conv2d_backward_weight_reduce.comp and sgd_update_segments.comp, which add the lanes in
// order.
uint weight_partial(uint i, uint row, uint tile, uint lanes, uint stride) {
  const uint o = i / row;
  const uint r = i - o * row;
  const uint t = r / tile;
  return t * lanes * stride + o * tile + (r - t * tile);
}
