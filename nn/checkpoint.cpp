// Model and optimizer state to and from safetensors.
#include "nn/checkpoint.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "engine/error.hpp"
#include "nn/safetensors.hpp"

namespace vkm::nn {

namespace {

std::vector<int64_t> torch_shape(const std::string& name, const Shape& s) {
  if (name.rfind("conv", 0) == 0) return {s.n, s.c, s.h, s.w};  // OIHW (also their momentum)
  return {static_cast<int64_t>(s.numel())};                     // per-channel vectors
}

std::vector<NamedTensor> gather(const std::vector<std::pair<std::string, const Tensor*>>& tensors) {
  std::vector<NamedTensor> out;
  for (const auto& [name, tensor] : tensors) {
    out.push_back({name, torch_shape(name, tensor->shape()), tensor->download()});
  }
  return out;
}

void scatter(const std::filesystem::path& file, const SafetensorsFile& data,
             const std::vector<std::pair<std::string, const Tensor*>>& tensors) {
  std::map<std::string, const NamedTensor*> by_name;
  for (const auto& t : data.tensors) by_name[t.name] = &t;
  for (const auto& [name, tensor] : tensors) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      throw Error(
          fmt::format("{}: no tensor '{}' — the checkpoint was saved from a different model",
                      file.string(), name));
    }
    const auto want = torch_shape(name, tensor->shape());
    if (it->second->shape != want) {
      throw Error(fmt::format("{}: tensor '{}' has shape [{}], the model needs [{}]", file.string(),
                              name, fmt::join(it->second->shape, ", "), fmt::join(want, ", ")));
    }
    tensor->upload(it->second->data);
  }
}

std::vector<std::pair<std::string, const Tensor*>> optimizer_tensors(const Model& model) {
  std::vector<std::pair<std::string, const Tensor*>> out;
  auto params = const_cast<Model&>(model).parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    out.emplace_back(params[i]->name + ".momentum_buffer", &model.velocities()[i]);
  }
  return out;
}

}  // namespace

Metadata model_metadata(const NetConfig& config, Metadata extra) {
  extra["format"] = "vkmnist";
  extra["norm"] = norm_name(config.norm);
  extra["groups"] = config.groups_text();
  extra["affine"] = config.affine ? "true" : "false";
  extra["dropout"] = fmt::format("{}", config.dropout);
  return extra;
}

NetConfig checkpoint_net_config(const Metadata& m) {
  NetConfig c;
  auto get = [&](const char* key) -> std::string {
    auto it = m.find(key);
    if (it == m.end())
      throw Error(fmt::format("checkpoint metadata has no '{}' (not a vkmnist checkpoint?)", key));
    return it->second;
  };
  c.norm = parse_norm(get("norm"));
  c.groups = static_cast<uint32_t>(std::strtoul(get("groups").c_str(), nullptr, 10));
  if (c.norm != NormKind::kGroup) c.groups = 4;
  c.affine = get("affine") == "true";
  c.dropout = std::strtof(get("dropout").c_str(), nullptr);
  return c;
}

void save_model(const std::filesystem::path& file, const Model& model, const Metadata& metadata) {
  write_safetensors(file, gather(model.state()), metadata);
}

Metadata load_model(const std::filesystem::path& file, Model& model) {
  const SafetensorsFile data = read_safetensors(file);
  scatter(file, data, model.state());
  return data.metadata;
}

void save_optimizer(const std::filesystem::path& file, const Model& model,
                    const Metadata& metadata) {
  write_safetensors(file, gather(optimizer_tensors(model)), metadata);
}

Metadata load_optimizer(const std::filesystem::path& file, Model& model) {
  const SafetensorsFile data = read_safetensors(file);
  scatter(file, data, optimizer_tensors(model));
  return data.metadata;
}

}  // namespace vkm::nn
