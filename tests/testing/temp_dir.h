// A fresh directory per test, removed when the test ends.
#ifndef XXLJOB_TESTS_TESTING_TEMP_DIR_H_
#define XXLJOB_TESTS_TESTING_TEMP_DIR_H_

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace xxljob::testing {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ =
        std::filesystem::path(::testing::TempDir()) /
        ("xxl-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
         "-" + (info != nullptr ? info->name() : "none"));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_TEMP_DIR_H_
