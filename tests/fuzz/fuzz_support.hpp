// SPDX-License-Identifier: Apache-2.0
// What every fuzz harness shares: a payload whose torn or foreign copy shows,
// and how a finding is reported (an abort libFuzzer records with its input).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace limen::fuzz {

/// 32 bytes whose every word depends on the fill: a torn or foreign payload shows.
struct Payload {
  std::uint64_t words[4];
};

inline Payload pattern(std::uint64_t v) {
  return {{v, v * 0x9E37'79B9'7F4A'7C15ULL, ~v, v ^ 0xA5A5'A5A5'5A5A'5A5AULL}};
}
inline bool holds(const Payload& p, std::uint64_t v) {
  const Payload want = pattern(v);
  for (int i = 0; i < 4; ++i) {
    if (p.words[i] != want.words[i]) return false;
  }
  return true;
}

[[noreturn]] inline void finding(const char* what, long detail = 0) {
  std::fprintf(stderr, "limen fuzz finding: %s (%ld)\n", what, detail);
  std::abort();
}
#define LIMEN_FUZZ_CHECK(cond, what)      \
  do {                                    \
    if (!(cond)) finding(what, __LINE__); \
  } while (0)

}  // namespace limen::fuzz
