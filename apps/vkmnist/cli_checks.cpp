// Value checks and parse-error messages of the command line.
#include "apps/vkmnist/cli_checks.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

namespace vkmnist {
namespace {

// A validator from a predicate on the number and the words for the condition ("greater than
// 0"); `description` is what --help shows after the type.
CLI::Validator number_check(std::function<bool(double)> ok, std::string condition,
                            std::string description) {
  return CLI::Validator(
      [ok = std::move(ok), condition = std::move(condition)](std::string& text) -> std::string {
        double value = 0.0;
        if (!CLI::detail::lexical_cast(text, value) || !std::isfinite(value)) {
          return fmt::format("must be a finite number {}, got '{}'", condition, text);
        }
        return ok(value) ? "" : fmt::format("must be {}, got {}", condition, text);
      },
      std::move(description));
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

CLI::Validator positive() {
  return number_check([](double v) { return v > 0; }, "greater than 0", "> 0");
}

CLI::Validator non_negative() {
  return number_check([](double v) { return v >= 0; }, "0 or more", ">= 0");
}

CLI::Validator between(double low, double high) {
  return number_check([=](double v) { return v >= low && v <= high; },
                      fmt::format("from {:g} to {:g}", low, high),
                      fmt::format("{:g} to {:g}", low, high));
}

std::string closest(const std::string& word, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = 3;
  for (const std::string& k : known) {
    const size_t d = k.rfind(word, 0) == 0 && word.size() >= 3 ? 1 : edit_distance(word, k);
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best;
}

std::string parse_error_message(const CLI::App& app, const CLI::ParseError& error,
                                const std::vector<std::string>& args) {
  // The subcommand the arguments chose (the first argument), if it is one.
  const CLI::App* command = nullptr;
  if (args.size() > 1) {
    for (const CLI::App* sub : app.get_subcommands({})) {
      if (sub->get_name() == args[1]) command = sub;
    }
  }
  std::vector<std::string> commands;
  for (const CLI::App* sub : app.get_subcommands({})) commands.push_back(sub->get_name());
  if (command == nullptr && args.size() > 1) {
    const std::string suggestion = closest(args[1], commands);
    return fmt::format(
        "unknown command '{}'{} (commands: {}; `vkmnist --help` says what each does)", args[1],
        suggestion.empty() ? "" : fmt::format(": did you mean {}?", suggestion),
        fmt::join(commands, ", "));
  }
  const std::string help =
      fmt::format("`vkmnist {} --help` lists its options", command->get_name());
  // An argument that looks like an option the command does not have is the likeliest fault,
  // whatever CLI11 made of it.
  std::vector<std::string> names;
  for (const CLI::Option* o : command->get_options()) {
    for (const std::string& n : o->get_lnames()) names.push_back("--" + n);
  }
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i].rfind("--", 0) != 0) continue;
    const std::string name = args[i].substr(0, args[i].find('='));
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    const std::string suggestion = closest(name, names);
    return fmt::format("unknown option {}{} ({})", name,
                       suggestion.empty() ? "" : fmt::format(": did you mean {}?", suggestion),
                       help);
  }
  const std::string what = error.what();
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr && what.rfind("--", 0) == 0) {
    return fmt::format("{} needs a value ({})", what.substr(0, what.find(':')), help);
  }
  // CLI11: "Could not convert: --groups = -4" (a value the option's type cannot hold).
  const std::string unconvertible = "Could not convert: ";
  if (dynamic_cast<const CLI::ConversionError*>(&error) != nullptr &&
      what.rfind(unconvertible, 0) == 0 && what.find(" = ") != std::string::npos) {
    const std::string rest = what.substr(unconvertible.size());
    const std::string flag = rest.substr(0, rest.find(" = "));
    const std::string value = rest.substr(rest.find(" = ") + 3);
    std::string kind = "a value it takes";
    if (const CLI::Option* option = command->get_option_no_throw(flag);
        option != nullptr && option->get_type_name().find("UINT") != std::string::npos) {
      kind = "a whole number from 0 to 4294967295";
    }
    return fmt::format("{}: '{}' is not {} ({})", flag, value, kind, help);
  }
  // CLI11: "The following argument(s) was/were not expected: a b".
  if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr &&
      what.find(": ") != std::string::npos) {
    const std::string extras = what.substr(what.find(": ") + 2);
    return fmt::format("unexpected argument{} {} ({})",
                       extras.find(' ') != std::string::npos ? "s" : "", extras, help);
  }
  return fmt::format("{} ({})", what, help);
}

}  // namespace vkmnist
