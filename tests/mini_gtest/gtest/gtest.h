// SPDX-License-Identifier: Apache-2.0
// A small stand-in for the part of GoogleTest's API that limen's GPU tests
// use (TEST, TYPED_TEST, EXPECT_/ASSERT_ comparisons with streamed messages,
// GTEST_SKIP, EXPECT_EXIT in a fresh process, listeners, --gtest_filter and
// --gtest_list_tests as CTest's gtest_discover_tests reads them). The GPU
// machines have no GoogleTest and no network, so bench/gpu_check.sh builds
// limen_gpu_tests against this when GoogleTest is not installed; CI builds it
// too (LIMEN_MINI_GTEST=ON) and runs the device tests with it on the CPU device.
// Written for limen; it is not GoogleTest and implements only what the tests call.
#pragma once

#include <cstdlib>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <typeinfo>
#include <vector>

namespace testing {

/** @brief A test's state: failed, skipped, and the messages of both. */
class TestResult {
 public:
  [[nodiscard]] bool Failed() const noexcept { return failed_; }
  [[nodiscard]] bool Skipped() const noexcept { return skipped_; }
  void fail() noexcept { failed_ = true; }
  void skip() noexcept { skipped_ = true; }

 private:
  bool failed_ = false;
  bool skipped_ = false;
};

class TestInfo {
 public:
  TestInfo(std::string suite, std::string name, std::string type_param)
      : suite_(std::move(suite)), name_(std::move(name)), type_param_(std::move(type_param)) {}
  [[nodiscard]] const char* test_suite_name() const noexcept { return suite_.c_str(); }
  [[nodiscard]] const char* name() const noexcept { return name_.c_str(); }
  [[nodiscard]] const char* type_param() const noexcept {
    return type_param_.empty() ? nullptr : type_param_.c_str();
  }
  [[nodiscard]] const TestResult* result() const noexcept { return &result_; }
  TestResult* mutable_result() noexcept { return &result_; }
  [[nodiscard]] std::string full_name() const { return suite_ + "." + name_; }

 private:
  std::string suite_;
  std::string name_;
  std::string type_param_;
  TestResult result_;
};

class EmptyTestEventListener {
 public:
  virtual ~EmptyTestEventListener() = default;
  virtual void OnTestEnd(const TestInfo&) {}
};

class TestEventListeners {
 public:
  void Append(EmptyTestEventListener* listener) { listeners_.emplace_back(listener); }
  [[nodiscard]] const std::vector<std::unique_ptr<EmptyTestEventListener>>& all() const {
    return listeners_;
  }

 private:
  std::vector<std::unique_ptr<EmptyTestEventListener>> listeners_;
};

class UnitTest {
 public:
  static UnitTest* GetInstance();
  TestEventListeners& listeners() noexcept { return listeners_; }

 private:
  TestEventListeners listeners_;
};

/** @brief A fixture; TEST bodies derive from it too. */
class Test {
 public:
  virtual ~Test() = default;
  virtual void SetUp() {}
  virtual void TearDown() {}
  virtual void TestBody() = 0;
};

template <class... T>
struct Types {};

void InitGoogleTest(int* argc, char** argv);
int RunAllTests();

/** @brief EXPECT_EXIT's predicate: the process exited normally with @p code. */
class ExitedWithCode {
 public:
  explicit ExitedWithCode(int code) : code_(code) {}
  bool operator()(int status) const;

 private:
  int code_;
};

namespace internal {

using Factory = std::function<std::unique_ptr<Test>()>;

/// Registers one test; returns true so it can initialise a namespace-scope bool.
bool register_test(const char* suite, const char* name, std::string type_param, Factory make);

/// The running test's result (failures and skips land there).
TestResult& current();

/// Where a failure's message is built; it is printed when the statement ends.
class Message {
 public:
  Message(const char* file, int line, std::string what, bool skip = false);
  ~Message();
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  template <class T>
  Message& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  std::ostringstream stream_;
  bool skip_;
};

/// Lets `return Message(...) << ...;` compile in a void function (ASSERT_*, GTEST_SKIP).
struct Returner {
  void operator=(const Message&) const noexcept {}
};

template <class T>
std::string show(const T& value) {
  if constexpr (requires(std::ostream & o, const T& v) { o << v; }) {
    std::ostringstream s;
    s << value;
    return s.str();
  } else {
    return "(a value that cannot be printed)";
  }
}

template <class A, class B, class Op>
std::string compare(const A& a, const B& b, const char* as, const char* bs, const char* op,
                    Op test) {
  if (test(a, b)) return {};
  return std::string("Expected: (") + as + ") " + op + " (" + bs + "), actual: " + show(a) +
         " vs " + show(b);
}

/// The type list of a TYPED_TEST_SUITE, instantiated once per type.
template <template <class> class Body, class List>
struct TypedRegistrar;
template <template <class> class Body, class... T>
struct TypedRegistrar<Body, Types<T...>> {
  static bool add(const char* suite, const char* name) {
    int index = 0;
    (register_test((std::string(suite) + "/" + std::to_string(index++)).c_str(), name,
                   typeid(T).name(), [] { return std::unique_ptr<Test>(new Body<T>()); }),
     ...);
    return true;
  }
};

/// Death tests: in the child, the test runs only the statement.
bool in_death_child();
bool run_death_test(const std::function<bool(int)>& predicate);

}  // namespace internal
}  // namespace testing

#define RUN_ALL_TESTS() ::testing::RunAllTests()
#define GTEST_FLAG_SET(name, value) ((void)0)

#define LIMEN_MINI_CHECK(text, fatal)                                                \
  if (const std::string limen_mini_failure_ = (text); limen_mini_failure_.empty()) { \
  } else                                                                             \
    LIMEN_MINI_RETURN_##fatal ::testing::internal::Message(__FILE__, __LINE__, limen_mini_failure_)
#define LIMEN_MINI_RETURN_true return ::testing::internal::Returner() =
#define LIMEN_MINI_RETURN_false

// std::equal_to<> and kin compare in a system header, as GoogleTest's helpers do,
// so mixed-sign comparisons in tests warn no more than they do under GoogleTest.
#define LIMEN_MINI_CMP(a, b, op, fn, fatal) \
  LIMEN_MINI_CHECK(::testing::internal::compare((a), (b), #a, #b, #op, fn{}), fatal)
#define LIMEN_MINI_BOOL(c, want, fatal)                                    \
  LIMEN_MINI_CHECK(static_cast<bool>(c) == (want)                          \
                       ? std::string()                                     \
                       : std::string("Value of: " #c "\n  Actual: ") +     \
                             ((want) ? "false" : "true") +                 \
                             "\nExpected: " + ((want) ? "true" : "false"), \
                   fatal)

#define EXPECT_EQ(a, b) LIMEN_MINI_CMP(a, b, ==, std::equal_to<>, false)
#define EXPECT_NE(a, b) LIMEN_MINI_CMP(a, b, !=, std::not_equal_to<>, false)
#define EXPECT_LT(a, b) LIMEN_MINI_CMP(a, b, <, std::less<>, false)
#define EXPECT_LE(a, b) LIMEN_MINI_CMP(a, b, <=, std::less_equal<>, false)
#define EXPECT_GT(a, b) LIMEN_MINI_CMP(a, b, >, std::greater<>, false)
#define EXPECT_GE(a, b) LIMEN_MINI_CMP(a, b, >=, std::greater_equal<>, false)
#define ASSERT_EQ(a, b) LIMEN_MINI_CMP(a, b, ==, std::equal_to<>, true)
#define ASSERT_NE(a, b) LIMEN_MINI_CMP(a, b, !=, std::not_equal_to<>, true)
#define ASSERT_LT(a, b) LIMEN_MINI_CMP(a, b, <, std::less<>, true)
#define ASSERT_LE(a, b) LIMEN_MINI_CMP(a, b, <=, std::less_equal<>, true)
#define ASSERT_GT(a, b) LIMEN_MINI_CMP(a, b, >, std::greater<>, true)
#define ASSERT_GE(a, b) LIMEN_MINI_CMP(a, b, >=, std::greater_equal<>, true)
#define EXPECT_TRUE(c) LIMEN_MINI_BOOL(c, true, false)
#define EXPECT_FALSE(c) LIMEN_MINI_BOOL(c, false, false)
#define ASSERT_TRUE(c) LIMEN_MINI_BOOL(c, true, true)
#define ASSERT_FALSE(c) LIMEN_MINI_BOOL(c, false, true)
#define ADD_FAILURE() ::testing::internal::Message(__FILE__, __LINE__, "Failed")
#define GTEST_SKIP()                       \
  return ::testing::internal::Returner() = \
             ::testing::internal::Message(__FILE__, __LINE__, "Skipped", true)

#define EXPECT_EXIT(statement, predicate, regex)                                           \
  do {                                                                                     \
    if (::testing::internal::in_death_child()) {                                           \
      statement;                                                                           \
      std::_Exit(111); /* the statement did not end the process */                         \
    }                                                                                      \
    if (!::testing::internal::run_death_test(predicate)) {                                 \
      ::testing::internal::Message(__FILE__, __LINE__,                                     \
                                   "Death test: " #statement " did not exit as expected"); \
    }                                                                                      \
  } while (0)

#define LIMEN_MINI_CLASS(suite, name) suite##_##name##_Test

#define TEST(suite, name)                                                             \
  class LIMEN_MINI_CLASS(suite, name) : public ::testing::Test {                      \
   public:                                                                            \
    void TestBody() override;                                                         \
  };                                                                                  \
  [[maybe_unused]] static const bool suite##_##name##_registered =                    \
      ::testing::internal::register_test(#suite, #name, "", [] {                      \
        return std::unique_ptr<::testing::Test>(new LIMEN_MINI_CLASS(suite, name)()); \
      });                                                                             \
  void LIMEN_MINI_CLASS(suite, name)::TestBody()

#define TYPED_TEST_SUITE(suite, types) using suite##_Types = types

#define TYPED_TEST(suite, name)                                                               \
  template <class gtest_TypeParam_>                                                           \
  class LIMEN_MINI_CLASS(suite, name) : public suite<gtest_TypeParam_> {                      \
   public:                                                                                    \
    using TypeParam = gtest_TypeParam_;                                                       \
    using TestFixture = suite<gtest_TypeParam_>;                                              \
    void TestBody() override;                                                                 \
  };                                                                                          \
  [[maybe_unused]] static const bool suite##_##name##_registered =                            \
      ::testing::internal::TypedRegistrar<LIMEN_MINI_CLASS(suite, name), suite##_Types>::add( \
          #suite, #name);                                                                     \
  template <class gtest_TypeParam_>                                                           \
  void LIMEN_MINI_CLASS(suite, name)<gtest_TypeParam_>::TestBody()
