// SPDX-License-Identifier: Apache-2.0
// The test programs' main: runs GoogleTest and, when a test fails on the CPU
// device, prints the schedule and seed that reproduce the order it saw.
#include <limen/cpu_device.hpp>

#include <gtest/gtest.h>

#include <cstdio>

namespace {

class ReproduceOnFailure : public ::testing::EmptyTestEventListener {
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (info.result() != nullptr && info.result()->Failed() && limen::cpu_device::active()) {
      std::printf("[ CPU DEVICE ] %s\n", limen::cpu_device::describe().c_str());
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new ReproduceOnFailure);
  if (limen::cpu_device::active()) {
    std::printf("[ CPU DEVICE ] %s\n", limen::cpu_device::describe().c_str());
  }
  return RUN_ALL_TESTS();
}
