// A fresh, empty folder for one test: under the system's temporary folder, named after the
// process and the running test (tests run in parallel never share one), removed with everything
// in it when the test ends.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string_view>
#include <system_error>

namespace vkm::test {

class TempFolder {
 public:
  // `what`: the suite's short name in the folder's ("idx" -> vkmnist-idx-test-<pid>-<test>).
  explicit TempFolder(std::string_view what)
      : path_(std::filesystem::temp_directory_path() /
              fmt::format("vkmnist-{}-test-{}-{}", what, ::getpid(),
                          ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace vkm::test
