// metrics.csv as vkmnist writes it and reads it back (--resume, compare, sweep): what it writes
// parses to the same rows, and a line that is not exactly an epoch from 1, train or test and five
// finite numbers is refused with the file and the line named (the fuzzer's findings among them:
// tests/fuzz/corpus/run_files/).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "apps/vkmnist/run_folder.hpp"
#include "engine/error.hpp"

namespace vkmnist {
namespace {

namespace fs = std::filesystem;

fs::path write_metrics(const std::string& body) {
  const fs::path file = fs::temp_directory_path() / "vkmnist-metrics-test.csv";
  std::ofstream(file) << "epoch,split,loss,penalty,accuracy,lr,seconds\n" << body;
  return file;
}

TEST(MetricsCsv, WhatIsWrittenReadsBack) {
  const std::vector<MetricsRow> rows = {{1, "train", 1.566767, 0.005963, 53.43, 0.00520423, 66.53},
                                        {1, "test", 0.565516, 0.0, 89.9, 1e-05, 2.866},
                                        {2, "train", 0.0, 0.0, 100.0, 0.05, 0.0}};
  const fs::path file = fs::temp_directory_path() / "vkmnist-metrics-test.csv";
  std::ofstream(file) << metrics_csv(rows);
  const auto back = parse_metrics_csv(file);
  ASSERT_EQ(back.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(back[i].epoch, rows[i].epoch);
    EXPECT_EQ(back[i].split, rows[i].split);
    EXPECT_NEAR(back[i].loss, rows[i].loss, 1e-6);
    EXPECT_NEAR(back[i].accuracy, rows[i].accuracy, 1e-2);
    EXPECT_NEAR(back[i].lr, rows[i].lr, 1e-6 * rows[i].lr + 1e-12);
  }
  fs::remove(file);
}

TEST(MetricsCsv, MalformedLinesAreRefusedByName) {
  const char* bad[] = {
      "0,train,1.56,0.0,53.43,0.005,66.5\n",        // epoch 0 (the fuzzer's finding)
      "1,train,1.56,0.0,5n3.43,0.005,66.5\n",       // a number with garbage after it (ditto)
      "-1,train,1.56,0.0,53.43,0.005,66.5\n",       // negative epoch
      "4294967296,train,1.5,0.0,53.4,0.005,6.5\n",  // epoch past 32 bits
      "1x,train,1.56,0.0,53.43,0.005,66.5\n",       // epoch with garbage
      "1,valid,1.56,0.0,53.43,0.005,66.5\n",        // unknown split
      "1,train,nan,0.0,53.43,0.005,66.5\n",         // not finite
      "1,train,1.56,0.0,153.43,0.005,66.5\n",       // accuracy above 100
      "1,train,-1.56,0.0,53.43,0.005,66.5\n",       // negative loss
      "1,train,1.56,0.0,53.43,0.005\n",             // a field short
      "1,train,1.56,0.0,53.43,0.005,66.5,7\n",      // a field too many
      "1,train,1.56,0.0,53.43,0.005,66.5,\n",       // an empty field too many
      "1,train,1.56,0.0,53.43,0.005,\n",            // an empty last field
  };
  for (const char* line : bad) {
    const fs::path file = write_metrics(line);
    try {
      parse_metrics_csv(file);
      ADD_FAILURE() << "accepted: " << line;
    } catch (const vkm::Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(file.string()), std::string::npos) << what;
      EXPECT_NE(what.find("malformed line"), std::string::npos) << what;
    }
    fs::remove(file);
  }
}

}  // namespace
}  // namespace vkmnist
