// A text table printed as aligned Markdown (readable on a terminal, pasteable into a README),
// and the number formats vkbench's tables share.
#pragma once

#include <string>
#include <vector>

namespace vkbench {

class Table {
 public:
  // A header starting with '>' is right-aligned (the '>' is not printed).
  explicit Table(std::vector<std::string> header);
  void add(std::vector<std::string> row);
  std::string str() const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> header_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// 3 significant digits without exponents: 0.0123, 1.23, 123, 12345.
std::string number(double x);
std::string bytes_text(double bytes);  // 1.5 KiB, 12.0 MiB, 23.4 GiB

}  // namespace vkbench
