// SPDX-License-Identifier: Apache-2.0
// The host benchmark's round trip (store a 64-byte message, read it through
// the guard, free it) as a plain loop, for instruction counts under callgrind
// (bench/instructions.sh): no benchmark library around it.
//
//   limen_host_loop heap|static|concurrent|floor N
#include <limen/limen.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace {

struct Payload {
  std::array<std::byte, 64> bytes{};
};
using Msg = limen::Message<Payload>;

inline void clobber(const void* p) {
  asm volatile("" : : "r"(p) : "memory");
}

/// All memory may have been read and written (after a release: no pointer to name).
inline void barrier() {
  asm volatile("" : : : "memory");
}
inline void read_payload(const Payload& payload) {
  std::uint64_t v;
  std::memcpy(&v, payload.bytes.data(), sizeof v);
  asm volatile("" : : "r"(v));
}

template <class M>
void run(M& m, const std::vector<Msg>& src, long n) {
  for (long i = 0; i < n; ++i) {
    const auto token = m.store(src[static_cast<std::size_t>(i) & 3]).value();
    clobber(&m);
    read_payload(m.read(token).value()->payload);
    (void)m.free(token);
    clobber(&m);
  }
}

/// The unchecked slot pool the benchmark calls the floor.
void run_floor(const std::vector<Msg>& src, long n) {
  std::vector<Msg> slots(256);
  std::vector<std::uint32_t> next(256);
  for (std::uint32_t i = 0; i < 256; ++i) next[i] = i + 1;
  std::uint32_t head = 0;
  for (long i = 0; i < n; ++i) {
    const std::uint32_t h = head;
    head = next[h];
    slots[h] = src[static_cast<std::size_t>(i) & 3];
    clobber(slots.data());
    read_payload(slots[h].payload);
    next[h] = head;
    head = h;
    clobber(slots.data());
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view which = argc > 1 ? argv[1] : "heap";
  const long n = argc > 2 ? std::atol(argv[2]) : 1'000'000;
  std::vector<Msg> src(4);
  for (std::size_t i = 0; i < 4; ++i) src[i].payload.bytes[0] = std::byte(i + 1);
  if (which == "heap") {
    limen::HeapManager<Payload> m(256);
    run(m, src, n);
  } else if (which == "static") {
    auto m = std::make_unique<limen::StaticManager<Payload, 256>>();
    run(*m, src, n);
  } else if (which == "concurrent") {
    limen::ConcurrentManager<Payload> m(256);
    auto handle = m.scoped_handle();
    run(handle, src, n);
  } else if (which == "floor") {
    run_floor(src, n);
  } else {
    std::fprintf(stderr, "usage: %s heap|static|concurrent|floor N\n", argv[0]);
    return 2;
  }
  return 0;
}
