// The command line's value checks and parse errors in words a person can act on: "--lr: must be
// greater than 0, got -0.1" rather than CLI11's "Value -0.1 not in range 0.000000 to 1797...
// (300 digits)", "unknown option --epoch: did you mean --epochs?" rather than "The following
// arguments were not expected: 1 --epoch", "unknown command 'trian': did you mean train?".
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace vkmnist {

CLI::Validator positive();                        // > 0
CLI::Validator non_negative();                    // >= 0
CLI::Validator between(double low, double high);  // low <= v <= high

// One line (without the "vkmnist: " prefix) for a parse error of `app`, given the arguments
// as parsed: names the unknown option or command and the closest known one, and where to look.
std::string parse_error_message(const CLI::App& app, const CLI::ParseError& error,
                                const std::vector<std::string>& args);

// The closest of `known` to `word` (edit distance at most 2, or a prefix), or "".
std::string closest(const std::string& word, const std::vector<std::string>& known);

}  // namespace vkmnist
