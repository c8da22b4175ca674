// A JSON parser's complaint as a person reads it: nlohmann::json's messages start with an
// identifier ("[json.exception.parse_error.101] parse error at line 1, ..."), which says nothing
// to a user; the rest names the line, column and what was expected.
#pragma once

#include <exception>
#include <string>

namespace vkm::nn {

inline std::string json_error_text(const std::exception& e) {
  std::string text = e.what();
  if (text.rfind("[json.exception.", 0) == 0 && text.find("] ") != std::string::npos) {
    text.erase(0, text.find("] ") + 2);
  }
  return text;
}

}  // namespace vkm::nn
