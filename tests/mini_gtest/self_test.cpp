// SPDX-License-Identifier: Apache-2.0
// The stand-in harness tested by itself: what passes passes, what fails fails
// (an expectation, an assertion that stops the body, a death test that does
// not die), skips stop the body, typed tests see their type, death tests run
// in a fresh process. CTest checks the summary lines of each half.
#include <gtest/gtest.h>

#include <cstdlib>

namespace {

TEST(MiniSelf, ComparisonsAndConditionsPass) {
  EXPECT_EQ(1, 1);
  EXPECT_NE(1U, 2U);
  EXPECT_LT(1, 2);
  EXPECT_GT(3, 2) << "never printed";
  ASSERT_TRUE(true);
  EXPECT_FALSE(false);
}

template <class T>
class MiniTyped : public ::testing::Test {};
using MiniTypes = ::testing::Types<int, long>;
TYPED_TEST_SUITE(MiniTyped, MiniTypes);

TYPED_TEST(MiniTyped, TypeParamIsTheListedType) {
  const TypeParam zero{};
  EXPECT_EQ(zero, TypeParam{0});
  EXPECT_EQ(sizeof(TypeParam) >= sizeof(int), true);
}

TEST(MiniSelf, SkipStopsTheBody) {
  GTEST_SKIP() << "skipped on purpose";
  ADD_FAILURE() << "ran past GTEST_SKIP";
}

TEST(MiniSelf, ADeathTestRunsItsStatementInAFreshProcess) {
  EXPECT_EXIT(std::exit(0), ::testing::ExitedWithCode(0), "");
}

TEST(MiniSelfFails, AFailedExpectationFailsTheTest) {
  EXPECT_EQ(1, 2) << "on purpose";
}

TEST(MiniSelfFails, AFailedAssertionStopsTheBody) {
  ASSERT_TRUE(false) << "on purpose";
  std::abort();  // never reached
}

TEST(MiniSelfFails, ADeathTestWhoseStatementReturnsFails) {
  EXPECT_EXIT((void)0, ::testing::ExitedWithCode(0), "");
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
