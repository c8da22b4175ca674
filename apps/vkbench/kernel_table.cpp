// Walking the seed net's table (nn/seed_net.hpp) at the benchmark's batch: one case per layer,
// in the order of the forward pass; the loss and the SGD update of every parameter last.
#include "apps/vkbench/kernel_table.hpp"

#include <fmt/format.h>

#include "apps/vkbench/kernel_cases.hpp"
#include "nn/seed_net.hpp"

namespace vkbench {

std::vector<KernelRow> measure_kernels(const BenchContext& ctx) {
  const uint32_t batch = ctx.settings.batch;
  const nn::NetConfig defaults;  // dropout rate of the net
  std::vector<KernelRow> rows;
  auto add = [&](std::vector<KernelRow> more) {
    for (KernelRow& r : more) rows.push_back(std::move(r));
  };
  std::vector<UpdatedParameter> parameters;
  nn::Shape in{batch, 1, nn::kImageSize, nn::kImageSize};
  uint32_t salt = 0;
  for (const nn::BlockSpec& spec : nn::seed_net_blocks()) {
    ctx.progress(fmt::format("kernels of {} at batch {}", spec.name, batch));
    nn::WeightPartials partials{};
    add(conv_case(ctx, spec, in, salt == 0, partials));
    parameters.push_back({{spec.c_out, spec.c_in, spec.k, spec.k}, partials});
    const nn::Shape out = spec.conv_output(in);
    if (spec.norm) {
      for (const std::string& norm : ctx.settings.norms) {
        const nn::NormKind kind = nn::parse_norm(norm);
        const uint32_t groups =
            nn::NetConfig{.norm = kind, .groups = ctx.settings.groups}.norm_groups(out.c);
        const nn::FusedDropout dropout{spec.dropout ? defaults.dropout : 0.0f, salt};
        add(norm_case(ctx, spec.norm_name(), kind, groups, out, dropout));
      }
      parameters.push_back({{spec.c_out, 1, 1, 1}, std::nullopt});
      parameters.push_back({{spec.c_out, 1, 1, 1}, std::nullopt});
    }
    if (spec.maxpool_after) add(maxpool_case(ctx, spec.pool_name(), out));
    if (spec.avgpool_after) add(avgpool_case(ctx, spec.pool_name(), out));
    in = spec.output(in);
    ++salt;
  }
  ctx.progress("kernels of the loss and the SGD update");
  add(loss_case(ctx, batch, nn::kClasses));
  add(sgd_case(ctx, parameters));
  return rows;
}

double minimum_step_bytes(uint32_t batch) {
  constexpr double kFloat = sizeof(float);
  double bytes = double(batch) * nn::kImageSize * nn::kImageSize * kFloat;  // the input
  nn::Shape in{batch, 1, nn::kImageSize, nn::kImageSize};
  double parameters = 0.0;
  for (const nn::BlockSpec& spec : nn::seed_net_blocks()) {
    const nn::Shape out = spec.conv_output(in);
    bytes += 4.0 * double(out.numel()) * kFloat;  // output and its gradient, each written + read
    parameters +=
        double(spec.c_out) * spec.c_in * spec.k * spec.k + (spec.norm ? 2.0 * spec.c_out : 0.0);
    in = spec.output(in);
  }
  return bytes + 6.0 * parameters * kFloat;
}

}  // namespace vkbench
