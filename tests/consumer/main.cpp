// SPDX-License-Identifier: Apache-2.0
// A consumer of an installed limen: stores a message in every memory class and
// reads it back. Built by tests/consumer/run.sh against `cmake --install`'s tree.
#include <limen/limen.hpp>

#include <cstdio>
#include <cstdlib>

int main() {
  struct Reading {
    float values[4];
  };
  bool ok = true;
  for (const auto c : {limen::MemoryClass::host(), limen::MemoryClass::pinned_host(),
                       limen::MemoryClass::device(0), limen::MemoryClass::shared()}) {
    auto m = limen::make_manager<Reading>(c).value();
    const auto t = m.store(limen::Message<Reading>(Reading{{1, 2, 3, 4}})).value();
    const bool same = m.read(t).value()->payload.values[3] == 4.0F;
    ok = ok && same && m.free(t).has_value();
    std::printf("%-12s %s%s\n", c.to_string().c_str(), same ? "ok" : "FAILED",
                m.emulated() ? " (CPU device)" : "");
  }
  std::printf("limen %d.%d.%d, CUDA runtime %s: %s\n", LIMEN_VERSION_MAJOR, LIMEN_VERSION_MINOR,
              LIMEN_VERSION_PATCH, LIMEN_HAVE_CUDA ? "linked" : "not linked", ok ? "OK" : "FAILED");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
