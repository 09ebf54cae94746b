// SPDX-License-Identifier: Apache-2.0
// The runner behind tests/mini_gtest/gtest/gtest.h: the registry, the filter
// (--gtest_filter=POSITIVE[-NEGATIVE], ':'-separated '*'/'?' globs), the
// listing CTest's gtest_discover_tests parses (--gtest_list_tests), the run
// with GoogleTest's summary lines ([  PASSED  ] n, [  SKIPPED ] n,
// [  FAILED  ] n), and death tests in a fresh process (this program again,
// filtered to the one test, which then runs only the statement).
#include <gtest/gtest.h>

#include <cxxabi.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace testing {
namespace {

struct Entry {
  TestInfo info;
  internal::Factory make;
};

std::vector<Entry>& registry() {
  static std::vector<Entry> all;
  return all;
}

/// Suites in the order they first registered, each suite's tests together (as
/// GoogleTest lists and runs them: a typed test registers one suite per type).
void group_by_suite() {
  std::vector<std::string> order;
  for (const Entry& e : registry()) {
    if (std::find(order.begin(), order.end(), e.info.test_suite_name()) == order.end()) {
      order.emplace_back(e.info.test_suite_name());
    }
  }
  std::stable_sort(registry().begin(), registry().end(), [&](const Entry& a, const Entry& b) {
    return std::find(order.begin(), order.end(), a.info.test_suite_name()) <
           std::find(order.begin(), order.end(), b.info.test_suite_name());
  });
}

std::string g_filter = "*";
bool g_list = false;
std::string g_self;  // argv[0], for death tests
TestInfo* g_running = nullptr;
TestResult g_outside;  // failures outside a test (static initialisers)

constexpr const char* kDeathChild = "LIMEN_MINI_GTEST_DEATH_CHILD";

bool glob(const char* pattern, const char* text) {
  if (*pattern == '\0') return *text == '\0';
  if (*pattern == '*') return glob(pattern + 1, text) || (*text != '\0' && glob(pattern, text + 1));
  if (*text == '\0') return false;
  return (*pattern == '?' || *pattern == *text) && glob(pattern + 1, text + 1);
}

bool any_glob(const std::string& patterns, const std::string& name) {
  std::size_t start = 0;
  while (start <= patterns.size()) {
    const std::size_t end = std::min(patterns.find(':', start), patterns.size());
    if (glob(patterns.substr(start, end - start).c_str(), name.c_str())) return true;
    start = end + 1;
  }
  return false;
}

bool selected(const std::string& name) {
  const std::size_t dash = g_filter.find('-');
  const std::string positive = dash == std::string::npos ? g_filter : g_filter.substr(0, dash);
  const std::string negative = dash == std::string::npos ? "" : g_filter.substr(dash + 1);
  return any_glob(positive.empty() ? "*" : positive, name) &&
         (negative.empty() || !any_glob(negative, name));
}

std::string demangle(const std::string& mangled) {
  int status = 0;
  char* readable = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  if (status != 0 || readable == nullptr) return mangled;
  std::string out(readable);
  std::free(readable);
  return out;
}

void list_tests() {
  std::string suite;
  for (const Entry& e : registry()) {
    if (!selected(e.info.full_name())) continue;
    if (suite != e.info.test_suite_name()) {
      suite = e.info.test_suite_name();
      std::printf("%s.", suite.c_str());
      if (e.info.type_param() != nullptr) std::printf("  # TypeParam = %s", e.info.type_param());
      std::printf("\n");
    }
    std::printf("  %s\n", e.info.name());
  }
}

void run_one(Entry& e) {
  g_running = &e.info;
  std::printf("[ RUN      ] %s\n", e.info.full_name().c_str());
  std::fflush(stdout);
  std::unique_ptr<Test> test = e.make();
  test->SetUp();
  if (!e.info.result()->Failed() && !e.info.result()->Skipped()) test->TestBody();
  test->TearDown();
  test.reset();
  for (const auto& listener : UnitTest::GetInstance()->listeners().all()) {
    listener->OnTestEnd(e.info);
  }
  const TestResult& r = *e.info.result();
  std::printf("%s %s\n",
              r.Failed()    ? "[  FAILED  ]"
              : r.Skipped() ? "[  SKIPPED ]"
                            : "[       OK ]",
              e.info.full_name().c_str());
  std::fflush(stdout);
  g_running = nullptr;
}

}  // namespace

UnitTest* UnitTest::GetInstance() {
  static UnitTest instance;
  return &instance;
}

void InitGoogleTest(int* argc, char** argv) {
  g_self = argv[0];
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--gtest_filter=", 0) == 0) {
      g_filter = arg.substr(std::strlen("--gtest_filter="));
    } else if (arg == "--gtest_list_tests") {
      g_list = true;
    } else if (arg.rfind("--gtest_", 0) != 0) {
      std::fprintf(stderr, "mini gtest: ignoring argument %s\n", arg.c_str());
    }  // other --gtest_ flags (colour, also_run_disabled_tests, ...) change nothing here
  }
}

int RunAllTests() {
  group_by_suite();
  if (g_list) {
    list_tests();
    return 0;
  }
  int ran = 0;
  int skipped = 0;
  std::vector<std::string> failed;
  for (Entry& e : registry()) {
    if (!selected(e.info.full_name())) continue;
    run_one(e);
    ++ran;
    if (e.info.result()->Failed()) {
      failed.push_back(e.info.full_name());
    } else if (e.info.result()->Skipped()) {
      ++skipped;
    }
  }
  std::printf("[==========] %d tests ran.\n", ran);
  std::printf("[  PASSED  ] %d tests.\n", ran - skipped - static_cast<int>(failed.size()));
  if (skipped != 0) std::printf("[  SKIPPED ] %d tests.\n", skipped);
  if (!failed.empty()) {
    std::printf("[  FAILED  ] %zu tests, listed below:\n", failed.size());
    for (const std::string& name : failed) std::printf("[  FAILED  ] %s\n", name.c_str());
  }
  return failed.empty() && !g_outside.Failed() ? 0 : 1;
}

bool ExitedWithCode::operator()(int status) const {
  return WIFEXITED(status) && WEXITSTATUS(status) == code_;
}

namespace internal {

bool register_test(const char* suite, const char* name, std::string type_param, Factory make) {
  registry().push_back(
      {TestInfo(suite, name, type_param.empty() ? "" : demangle(type_param)), std::move(make)});
  return true;
}

TestResult& current() {
  return g_running != nullptr ? *g_running->mutable_result() : g_outside;
}

Message::Message(const char* file, int line, std::string what, bool skip) : skip_(skip) {
  if (skip) {
    stream_ << file << ":" << line << ": Skipped\n";
  } else {
    stream_ << file << ":" << line << ": Failure\n" << what << "\n";
  }
}

Message::~Message() {
  std::printf("%s\n", stream_.str().c_str());
  std::fflush(stdout);
  if (skip_) {
    current().skip();
  } else {
    current().fail();
  }
}

bool in_death_child() {
  return std::getenv(kDeathChild) != nullptr;
}

bool run_death_test(const std::function<bool(int)>& predicate) {
  if (g_running == nullptr || g_self.empty()) return false;
  std::fflush(stdout);
  const std::string filter = "--gtest_filter=" + g_running->full_name();
  // The child only execs (fork in a threaded program allows nothing else), so
  // its marker goes in the environment before the fork.
  setenv(kDeathChild, "1", 1);
  const pid_t child = fork();
  if (child == 0) {  // exec at once: nothing of the parent's CUDA state is touched
    execl(g_self.c_str(), g_self.c_str(), filter.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  unsetenv(kDeathChild);
  if (child < 0) return false;
  int status = 0;
  if (waitpid(child, &status, 0) != child) return false;
  return predicate(status);
}

}  // namespace internal
}  // namespace testing
