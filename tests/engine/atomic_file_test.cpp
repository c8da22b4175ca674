// Atomic writes and the early writability probe: what lands in the folder (the file, never a
// temporary), an existing file replaced whole, and one message naming the file where the folder
// is missing, from the write and from the probe alike.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/atomic_file.hpp"
#include "engine/error.hpp"
#include "tests/support/temp_folder.hpp"

namespace vkm {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
 protected:
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(dir_))
      out.push_back(entry.path().filename().string());
    return out;
  }
  static std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  // The message `f` throws as vkm::Error ("" when it throws nothing).
  template <typename F>
  static std::string error_of(F f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  test::TempFolder temp_{"atomic"};
  const fs::path dir_ = temp_.path();
};

TEST_F(AtomicFileTest, WritesTheFileAndNothingElse) {
  const fs::path file = dir_ / "a.csv";
  write_file_atomically(file, std::string("old\n"));
  write_file_atomically(file, std::string("new, longer\n"));
  EXPECT_EQ(read(file), "new, longer\n");
  EXPECT_EQ(names(), std::vector<std::string>{"a.csv"});
  EXPECT_TRUE(is_temporary_name(temporary_for(file).filename().string()));
  EXPECT_FALSE(is_temporary_name("a.csv"));
}

TEST_F(AtomicFileTest, CheckWritableLeavesTheFolderAsItWas) {
  check_writable(dir_ / "not-yet.csv");
  EXPECT_TRUE(names().empty());
  const fs::path file = dir_ / "kept.csv";
  write_file_atomically(file, std::string("kept\n"));
  check_writable(file);
  EXPECT_EQ(read(file), "kept\n");
  EXPECT_EQ(names(), std::vector<std::string>{"kept.csv"});
}

TEST_F(AtomicFileTest, AMissingFolderGivesTheSameMessageEarlyAndLate) {
  const fs::path file = dir_ / "nowhere" / "c.csv";
  const std::string expected =
      fmt::format("cannot write {}: check the folder exists and is writable", file.string());
  EXPECT_EQ(error_of([&] { check_writable(file); }), expected);
  EXPECT_EQ(error_of([&] { write_file_atomically(file, std::string("x")); }), expected);
  EXPECT_TRUE(names().empty());
}

}  // namespace
}  // namespace vkm
