// SPDX-License-Identifier: Apache-2.0
// The host benchmark's round trip (store a 64-byte message, read it through
// the guard, free it) as a plain loop, for instruction counts under callgrind
// (bench/instructions.sh): no benchmark library around it. Two shapes: the
// loop the compiler sees whole, as bench/host_bench.cpp times it (heap,
// static, concurrent, floor), and the loop as a user writes it, as
// bench/user_loop_bench.cpp times it (user-*: the token goes through a queue
// in memory, the guard lives across a call into another translation unit,
// every result is checked; bench/user_shape.hpp). Built at -O3
// (limen_host_loop) and at -O2 (limen_host_loop_o2).
//
//   limen_host_loop heap|static|concurrent|floor N
//   limen_host_loop user-floor|user-atomic-floor|user-cached-atomic-floor|user-new|
//                   user-pmr|user-mimalloc|user-boost|user-heap|user-static|
//                   user-concurrent N
#include "user_shape.hpp"

#include <limen/limen.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace {

using Payload = limen::bench::Payload<64>;
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

/// The whole loop through manager @p m; a function of its own for each manager (see run_user).
template <class M>
[[gnu::noinline]] void run(M& m, const std::vector<Msg>& src, long n) {
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

/// The user-shaped round trip through @p contender; 0, or 1 if the consumer read wrong data.
/// A function of its own for each contender, so that no contender's loop is compiled
/// inside one large function with all the others (at -O2 that changed the floor's count).
template <class Contender>
[[gnu::noinline]] int run_user(Contender& contender, long n) {
  const limen::bench::Sources<Payload> sources;
  std::uint64_t sum = 0;
  for (long i = 0; i < n; ++i) sum += contender.round_trip(sources[static_cast<std::size_t>(i)]);
  if (sum != sources.expected(static_cast<std::size_t>(n))) {
    std::fprintf(stderr, "the consumer read the wrong messages\n");
    return 1;
  }
  return 0;
}

/// The user-* modes; -1 for a mode this build does not have.
int run_user_mode(std::string_view which, long n) {
  namespace lb = limen::bench;
  if (which == "user-floor") {
    lb::UserSlotPool<lb::FloorPool<Payload>, Payload> c;
    return run_user(c, n);
  }
  if (which == "user-atomic-floor") {
    lb::UserSlotPool<lb::AtomicFloorPool<Payload>, Payload> c;
    return run_user(c, n);
  }
  if (which == "user-cached-atomic-floor") {
    lb::UserSlotPool<lb::CachedAtomicFloorPool<Payload>, Payload> c;
    return run_user(c, n);
  }
  if (which == "user-new") {
    lb::UserNewDelete<Payload> c;
    return run_user(c, n);
  }
  if (which == "user-pmr") {
    lb::UserPmr<Payload> c;
    return run_user(c, n);
  }
#if defined(LIMEN_BENCH_MIMALLOC)
  if (which == "user-mimalloc") {
    const auto* mi = lb::Mimalloc::get();
    if (mi == nullptr) return 1;
    lb::UserMimalloc<Payload> c(*mi);
    return run_user(c, n);
  }
#endif
#if defined(LIMEN_BENCH_BOOST)
  if (which == "user-boost") {
    lb::UserBoostPool<Payload> c;
    return run_user(c, n);
  }
#endif
  if (which == "user-heap") {
    limen::HeapManager<Payload> m(256);
    lb::UserLimen<limen::HeapManager<Payload>, Payload> c(m);
    return run_user(c, n);
  }
  if (which == "user-static") {
    auto m = std::make_unique<limen::StaticManager<Payload, 256>>();
    lb::UserLimen<limen::StaticManager<Payload, 256>, Payload> c(*m);
    return run_user(c, n);
  }
  if (which == "user-concurrent") {
    limen::ConcurrentManager<Payload> m(256);
    using Handle = limen::ConcurrentHandle<Payload>;
    lb::UserLimen<Handle, Payload, Handle> c(m.scoped_handle());
    return run_user(c, n);
  }
  return -1;
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
  } else if (const int rc = run_user_mode(which, n); rc >= 0) {
    return rc;
  } else {
    std::fprintf(stderr,
                 "usage: %s heap|static|concurrent|floor|user-floor|user-atomic-floor|"
                 "user-cached-atomic-floor|user-new|user-pmr|user-mimalloc|user-boost|user-heap|"
                 "user-static|user-concurrent N\n",
                 argv[0]);
    return 2;
  }
  return 0;
}
