// The CPU seed net: the reference ops composed in table order.
#include "nn/reference/seed_net.hpp"

#include <algorithm>
#include <cmath>

#include <optional>
#include <stdexcept>

#include "nn/reference/activation.hpp"
#include "nn/reference/batchnorm.hpp"
#include "nn/reference/conv2d.hpp"
#include "nn/reference/groupnorm.hpp"
#include "nn/reference/loss.hpp"
#include "nn/reference/pool.hpp"

namespace vkm::nn::reference {

namespace {

using Vec = std::vector<double>;
constexpr double kEps = 1e-5;
constexpr double kMomentum = 0.1;

// What the forward pass keeps for the backward pass, per block.
struct BlockTrace {
  Shape in, out;  // conv input and output shapes
  Vec x;          // conv input
  Vec z;          // conv output
  Vec a;          // norm + ReLU output
  Vec y;          // norm output before ReLU
  Vec save_mean, save_invstd;
  Vec d;        // dropout output
  Vec pool_in;  // what the pool read
  Shape pool_in_shape;
};

std::span<const double> maybe(const NetState& s, const std::string& name) {
  auto it = s.tensors.find(name);
  return it == s.tensors.end() ? std::span<const double>() : std::span<const double>(it->second);
}

struct Forward {
  std::vector<BlockTrace> blocks;
  Vec logits;
  std::vector<double> margins;  // StepOutput::margins
};

// Margins are measured in the unit of a float32 error of the value: rounding in the convolution
// is relative to the layer's scale (the rms of its output z), and the norm multiplies it by
// |gamma| * invstd of the value's channel or group. A plane with a small spread (an InstanceNorm
// of a 5x5 plane) therefore has a large unit: a small |y| there is closer to the kink than the
// same |y| in a wide plane. Units are per (image, channel) plane.
Vec plane_units(const Shape& s, const Vec& z, std::span<const double> gamma,
                std::span<const double> invstd, uint32_t groups, bool per_channel) {
  double sq = 0.0;
  for (double v : z) sq += v * v;
  const double rms = std::sqrt(sq / static_cast<double>(std::max<size_t>(z.size(), 1)));
  Vec unit(size_t{s.n} * s.c);
  for (uint32_t n = 0; n < s.n; ++n) {
    for (uint32_t c = 0; c < s.c; ++c) {
      const double is = per_channel ? invstd[c] : invstd[size_t{n} * groups + c / (s.c / groups)];
      unit[size_t{n} * s.c + c] = (gamma.empty() ? 1.0 : std::abs(gamma[c])) * is * rms;
    }
  }
  return unit;
}

double relu_margin(const Shape& s, const Vec& y, const Vec& unit) {
  double m = INFINITY;
  for (size_t i = 0; i < y.size(); ++i) m = std::min(m, std::abs(y[i]) / unit[i / s.plane()]);
  return m;
}

// scale: what dropout multiplied the kept values by.
double maxpool_margin(const Shape& s, const Vec& x, const Vec& unit, double scale) {
  double m = INFINITY;
  for (size_t plane = 0; plane < size_t{s.n} * s.c; ++plane) {
    const double* in = x.data() + plane * s.plane();
    for (uint32_t oy = 0; oy < s.h / 2; ++oy) {
      for (uint32_t ox = 0; ox < s.w / 2; ++ox) {
        double v[4];
        for (uint32_t k = 0; k < 4; ++k) v[k] = in[size_t{2 * oy + k / 2} * s.w + 2 * ox + k % 2];
        std::sort(v, v + 4);
        if (v[3] > 0) m = std::min(m, (v[3] - v[2]) / (unit[plane] * scale));
      }
    }
  }
  return m;
}

Forward forward(const NetConfig& config, NetState& state, std::span<const float> x_in, uint32_t n,
                bool train, uint32_t seed, uint32_t global_step) {
  Forward f;
  Vec x(x_in.begin(), x_in.begin() + size_t{n} * kImageSize * kImageSize);
  Shape s{n, 1, kImageSize, kImageSize};
  const auto& blocks = seed_net_blocks();
  for (size_t i = 0; i < blocks.size(); ++i) {
    const BlockSpec& b = blocks[i];
    BlockTrace t;
    Vec unit;  // per-plane float32 error unit of the norm output (train only)
    double margin = INFINITY;
    double dropout_scale = 1.0;
    t.in = s;
    t.x = x;
    const Conv2dGeometry g{n, b.c_in, s.h, s.w, b.c_out, b.k, 0};
    t.out = {n, b.c_out, g.h_out(), g.w_out()};
    t.z.resize(t.out.numel());
    conv2d_forward<double>(g, x, state.tensors.at(b.name + ".weight"), t.z);
    Vec out = t.z;
    if (b.norm) {
      const std::string name = b.norm_name();
      const auto gamma = maybe(state, name + ".weight");
      const auto beta = maybe(state, name + ".bias");
      t.y.resize(t.out.numel());
      if (config.norm == NormKind::kBatch) {
        t.save_mean.resize(b.c_out);
        t.save_invstd.resize(b.c_out);
        if (train) {
          batchnorm_forward_train<double>(t.out, t.z, gamma, beta, kEps, kMomentum, t.y,
                                          state.tensors.at(name + ".running_mean"),
                                          state.tensors.at(name + ".running_var"), t.save_mean,
                                          t.save_invstd);
        } else {
          batchnorm_forward_eval<double>(t.out, t.z, gamma, beta,
                                         state.tensors.at(name + ".running_mean"),
                                         state.tensors.at(name + ".running_var"), kEps, t.y);
        }
      } else {
        const uint32_t groups = config.norm_groups(b.c_out);
        t.save_mean.resize(size_t{n} * groups);
        t.save_invstd.resize(size_t{n} * groups);
        groupnorm_forward<double>(t.out, groups, t.z, gamma, beta, kEps, t.y, t.save_mean,
                                  t.save_invstd);
      }
      t.a.resize(t.out.numel());
      relu_forward<double>(t.y, t.a);
      if (train) {
        const bool bn = config.norm == NormKind::kBatch;
        unit =
            plane_units(t.out, t.z, gamma, t.save_invstd, bn ? 1 : config.norm_groups(b.c_out), bn);
        margin = relu_margin(t.out, t.y, unit);
      }
      out = t.a;
      if (train && b.dropout && config.dropout > 0.0f) {
        t.d.resize(t.out.numel());
        dropout_forward<double>(config.dropout, seed, static_cast<uint32_t>(i), global_step, t.a,
                                t.d);
        out = t.d;
        dropout_scale = 1.0 / (1.0 - config.dropout);
      }
    }
    s = t.out;
    if (b.maxpool_after || b.avgpool_after) {
      t.pool_in = out;
      t.pool_in_shape = s;
      if (b.maxpool_after) {
        s = {n, s.c, s.h / 2, s.w / 2};
        out.assign(s.numel(), 0.0);
        maxpool2d_forward<double>(t.pool_in_shape, t.pool_in, out);
        if (!unit.empty()) {
          margin =
              std::min(margin, maxpool_margin(t.pool_in_shape, t.pool_in, unit, dropout_scale));
        }
      } else {
        s = {n, s.c, 1, 1};
        out.assign(s.numel(), 0.0);
        avgpool_global_forward<double>(t.pool_in_shape, t.pool_in, out);
      }
    }
    x = std::move(out);
    f.blocks.push_back(std::move(t));
    f.margins.push_back(margin);
  }
  f.logits = std::move(x);
  return f;
}

StepOutput loss(const Vec& logits, std::span<const uint32_t> labels, uint32_t n, Vec& log_probs) {
  StepOutput o;
  log_probs.assign(logits.size(), 0.0);
  o.predictions.resize(n);
  o.loss_sum = log_softmax_nll_forward<double>(n, kClasses, logits, labels.first(n), log_probs,
                                               &o.correct, o.predictions);
  return o;
}

}  // namespace

StepOutput train_step(const NetConfig& config, NetState& state, std::span<const float> x,
                      std::span<const uint32_t> labels, uint32_t n, const SgdHyper& sgd,
                      uint32_t seed, uint32_t global_step, double label_smoothing) {
  Forward f = forward(config, state, x, n, true, seed, global_step);
  Vec log_probs;
  StepOutput out = loss(f.logits, labels, n, log_probs);
  out.margins = std::move(f.margins);

  std::map<std::string, Vec> grads;
  Vec dout(f.logits.size());
  log_softmax_nll_backward<double>(n, kClasses, log_probs, labels.first(n), dout, label_smoothing);
  const auto& blocks = seed_net_blocks();
  for (size_t i = blocks.size(); i-- > 0;) {
    const BlockSpec& b = blocks[i];
    BlockTrace& t = f.blocks[i];
    if (b.maxpool_after || b.avgpool_after) {
      Vec din(t.pool_in_shape.numel());
      if (b.maxpool_after) {
        maxpool2d_backward<double>(t.pool_in_shape, t.pool_in, dout, din);
      } else {
        avgpool_global_backward<double>(t.pool_in_shape, dout, din);
      }
      dout = std::move(din);
    }
    Vec dz = dout;
    if (b.norm) {
      if (!t.d.empty()) {
        Vec da(dout.size());
        dropout_backward<double>(config.dropout, seed, static_cast<uint32_t>(i), global_step, dout,
                                 da);
        dout = std::move(da);
      }
      Vec dy(dout.size());
      relu_backward<double>(t.a, dout, dy);
      const std::string name = b.norm_name();
      const auto gamma = maybe(state, name + ".weight");
      Vec dgamma(gamma.empty() ? 0 : b.c_out), dbeta(gamma.empty() ? 0 : b.c_out);
      if (config.norm == NormKind::kBatch) {
        batchnorm_backward<double>(t.out, t.z, dy, gamma, t.save_mean, t.save_invstd, dz, dgamma,
                                   dbeta);
      } else {
        groupnorm_backward<double>(t.out, config.norm_groups(b.c_out), t.z, dy, gamma, t.save_mean,
                                   t.save_invstd, dz, dgamma, dbeta);
      }
      if (!gamma.empty()) {
        grads[name + ".weight"] = std::move(dgamma);
        grads[name + ".bias"] = std::move(dbeta);
      }
    }
    const Conv2dGeometry g{n, b.c_in, t.in.h, t.in.w, b.c_out, b.k, 0};
    Vec dw(size_t{b.c_out} * b.c_in * b.k * b.k);
    conv2d_backward_weight<double>(g, t.x, dz, dw);
    grads[b.name + ".weight"] = std::move(dw);
    if (i > 0) {
      Vec dx(t.in.numel());
      conv2d_backward_input<double>(g, dz, state.tensors.at(b.name + ".weight"), dx);
      dout = std::move(dx);
    }
  }
  for (auto& [name, grad] : grads) {
    Vec& v = state.velocity[name];
    Vec& w = state.tensors.at(name);
    if (v.empty()) v.assign(w.size(), 0.0);
    sgd_update<double>(sgd, w, grad, v);
  }
  return out;
}

StepOutput eval_batch(const NetConfig& config, const NetState& state, std::span<const float> x,
                      std::span<const uint32_t> labels, uint32_t n) {
  NetState copy = state;  // eval does not change running statistics; forward's signature is shared
  Forward f = forward(config, copy, x, n, false, 0, 0);
  Vec log_probs;
  return loss(f.logits, labels, n, log_probs);
}

}  // namespace vkm::nn::reference
