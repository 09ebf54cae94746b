// SPDX-License-Identifier: Apache-2.0
// limen's host managers against what a user would use instead, in one process,
// on the same loop: copy a Message<P> in, read it through the handle, release
// it (P = 64 B and 4 KiB). Peers: an unchecked slot pool (the floor: an array,
// an intrusive free list, index handles), glibc new/delete, std::pmr pools,
// boost::object_pool and mimalloc (where installed); for the thread-safe
// manager, the floor plus the seven atomic steps a thread-safe pool makes (the
// atomic floor). Also: a ring of 256 live messages, 1/2/4 threads on one
// shared object, and capacities from 64 to 1M slots at 90 % full (limen must
// stay flat).
//
// Every contender copies the whole message in and reads its payload back: the
// source is one of a few prebuilt messages, rotated, and a memory clobber
// after each step keeps the compiler from eliding either.
#include "floor_pools.hpp"
#include "mimalloc_local.hpp"
#include "ratio_reporter.hpp"

#include <limen/limen.hpp>

#include <benchmark/benchmark.h>

#if defined(LIMEN_BENCH_BOOST)
#include <boost/pool/object_pool.hpp>
#endif

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <memory_resource>
#include <new>
#include <string>
#include <vector>

namespace {

template <std::size_t Bytes>
struct Payload {
  std::array<std::byte, Bytes> bytes{};
};

/// Keeps @p p's memory as written and read (no value is assumed by the compiler).
inline void clobber(const void* p) {
  asm volatile("" : : "r"(p) : "memory");
}

/// All memory may have been read and written (after a release: no pointer to name).
inline void barrier() {
  asm volatile("" : : : "memory");
}

/// Reads the payload's first word, so the read really happens.
template <class P>
inline void read_payload(const P& payload) {
  std::uint64_t v;
  std::memcpy(&v, payload.bytes.data(), sizeof v);
  asm volatile("" : : "r"(v));
}

/// A few prebuilt source messages, rotated so no copy can be hoisted.
template <class P>
struct Sources {
  static constexpr std::size_t count = 4;
  std::vector<limen::Message<P>> messages;
  Sources() : messages(count) {
    for (std::size_t i = 0; i < count; ++i) messages[i].payload.bytes[0] = std::byte(i + 1);
  }
  const limen::Message<P>& operator[](std::size_t i) const { return messages[i % count]; }
};

using limen::bench::AtomicFloorPool;
using limen::bench::FloorPool;

/// The round trip through FloorPool or AtomicFloorPool.
template <template <class> class Pool, class P>
void pool_round_trip(benchmark::State& state) {
  Pool<P> pool(256);
  Sources<P> src;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto h = pool.store(src[i++]);
    clobber(&pool);
    read_payload(pool.read(h).payload);
    pool.unlock_read(h);
    pool.free(h);
    clobber(&pool);
  }
  state.SetItemsProcessed(state.iterations());
}

// --- General-purpose allocators -------------------------------------------------------

template <class P, class Alloc, class Free>
void allocator_round_trip(benchmark::State& state, Alloc alloc, Free release) {
  Sources<P> src;
  std::size_t i = 0;
  for (auto _ : state) {
    void* raw = alloc(sizeof(limen::Message<P>));
    auto* m = ::new (raw) limen::Message<P>(src[i++]);
    clobber(m);
    read_payload(m->payload);
    m->~Message();
    release(m, sizeof(limen::Message<P>));
    barrier();
  }
  state.SetItemsProcessed(state.iterations());
}

template <class P>
void new_delete(benchmark::State& state) {
  allocator_round_trip<P>(
      state, [](std::size_t n) { return ::operator new(n); },
      [](void* p, std::size_t n) { ::operator delete(p, n); });
}

template <class P, class Resource>
void pmr_pool(benchmark::State& state) {
  Resource resource;
  allocator_round_trip<P>(
      state, [&](std::size_t n) { return resource.allocate(n, alignof(limen::Message<P>)); },
      [&](void* p, std::size_t n) { resource.deallocate(p, n, alignof(limen::Message<P>)); });
}

#if defined(LIMEN_BENCH_MIMALLOC)
template <class P>
void mimalloc(benchmark::State& state) {
  const auto* mi = limen::bench::Mimalloc::get();
  if (mi == nullptr) {
    state.SkipWithError("mimalloc could not be loaded");
    return;
  }
  allocator_round_trip<P>(
      state, [mi](std::size_t n) { return mi->malloc(n); },
      [mi](void* p, std::size_t) { mi->free(p); });
}
#endif

#if defined(LIMEN_BENCH_BOOST)
template <class P>
void boost_pool(benchmark::State& state) {
  boost::object_pool<limen::Message<P>> pool;
  Sources<P> src;
  std::size_t i = 0;
  for (auto _ : state) {
    auto* m = pool.construct(src[i++]);
    clobber(m);
    read_payload(m->payload);
    pool.destroy(m);
    barrier();
  }
  state.SetItemsProcessed(state.iterations());
}
#endif

// --- limen ------------------------------------------------------------------------------

template <class M, class P>
void limen_round_trip(benchmark::State& state, M& m) {
  Sources<P> src;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto token = m.store(src[i++]).value();
    clobber(&m);
    {
      const auto guard = m.read(token).value();
      read_payload(guard->payload);
    }
    (void)m.free(token);
    clobber(&m);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class P>
void heap_manager(benchmark::State& state) {
  limen::HeapManager<P> m(256);
  limen_round_trip<limen::HeapManager<P>, P>(state, m);
}

template <class P>
void static_manager(benchmark::State& state) {
  auto m = std::make_unique<limen::StaticManager<P, 256>>();
  limen_round_trip<limen::StaticManager<P, 256>, P>(state, *m);
}

template <class P>
void concurrent_handle(benchmark::State& state) {
  static limen::ConcurrentManager<P> shared(1024);
  auto handle = shared.scoped_handle();
  limen_round_trip<limen::ConcurrentHandle<P>, P>(state, handle);
}

template <class P>
void concurrent_direct(benchmark::State& state) {
  static limen::ConcurrentManager<P> shared(1024);
  limen_round_trip<limen::ConcurrentManager<P>, P>(state, shared);
}

// --- A ring of 256 live messages: store the new, read it, free the oldest ------------

template <class P>
void heap_ring(benchmark::State& state) {
  limen::HeapManager<P> m(512);
  Sources<P> src;
  std::array<limen::MessageToken, 256> live{};
  for (auto& t : live) t = m.store(src[0]).value();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto token = m.store(src[i]).value();
    read_payload(m.read(token).value()->payload);
    (void)m.free(live[i % live.size()]);
    live[i % live.size()] = token;
    ++i;
    clobber(&m);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class P>
void new_delete_ring(benchmark::State& state) {
  Sources<P> src;
  std::array<limen::Message<P>*, 256> live{};
  for (auto& m : live) m = new limen::Message<P>(src[0]);
  std::size_t i = 0;
  for (auto _ : state) {
    auto* m = new limen::Message<P>(src[i]);
    read_payload(m->payload);
    delete live[i % live.size()];
    live[i % live.size()] = m;
    ++i;
    clobber(m);
  }
  for (auto* m : live) delete m;
  state.SetItemsProcessed(state.iterations());
}

// --- Capacity: the same round trip with the manager 90 % full -----------------------------

template <class P>
void heap_at_capacity(benchmark::State& state) {
  const auto capacity = static_cast<std::size_t>(state.range(0));
  limen::HeapManager<P> m(capacity);
  Sources<P> src;
  for (std::size_t i = 0; i < capacity * 9 / 10; ++i) (void)m.store(src[i]).value();
  limen_round_trip<limen::HeapManager<P>, P>(state, m);
}

// --- Threads on one shared object ---------------------------------------------------------

template <class P>
void new_delete_threads(benchmark::State& state) {
  new_delete<P>(state);
}

using Ratio = limen::bench::RatioReporter::Ratio;
std::vector<Ratio> ratios;

template <std::size_t Bytes>
void register_size(const std::string& size) {
  using P = Payload<Bytes>;
  const auto reg = [&](const std::string& name, auto fn) {
    return benchmark::RegisterBenchmark((name + "/" + size).c_str(), fn);
  };
  reg("floor", pool_round_trip<FloorPool, P>);
  reg("new_delete", new_delete<P>);
  reg("pmr_unsynchronized", pmr_pool<P, std::pmr::unsynchronized_pool_resource>);
  reg("pmr_synchronized", pmr_pool<P, std::pmr::synchronized_pool_resource>);
  std::vector<std::string> allocators{"new_delete/" + size, "pmr_unsynchronized/" + size,
                                      "pmr_synchronized/" + size};
#if defined(LIMEN_BENCH_MIMALLOC)
  reg("mimalloc", mimalloc<P>);
  allocators.push_back("mimalloc/" + size);
#endif
#if defined(LIMEN_BENCH_BOOST)
  reg("boost_object_pool", boost_pool<P>);
#endif
  reg("limen_heap", heap_manager<P>);
  reg("limen_static", static_manager<P>);
  reg("atomic_floor", pool_round_trip<AtomicFloorPool, P>);
  // Threads: wall-clock time, so items/s is the throughput of all threads together.
  reg("limen_concurrent_handle", concurrent_handle<P>)->UseRealTime();
  reg("limen_concurrent_handle", concurrent_handle<P>)->Threads(2)->UseRealTime();
  reg("limen_concurrent_handle", concurrent_handle<P>)->Threads(4)->UseRealTime();
  reg("limen_concurrent_direct", concurrent_direct<P>)->UseRealTime();
  reg("limen_concurrent_direct", concurrent_direct<P>)->Threads(2)->UseRealTime();
  reg("limen_concurrent_direct", concurrent_direct<P>)->Threads(4)->UseRealTime();
  reg("new_delete_threads", new_delete_threads<P>)->Threads(2)->UseRealTime();
  reg("limen_heap_ring256", heap_ring<P>);
  reg("new_delete_ring256", new_delete_ring<P>);
  reg("limen_heap_90pct_full", heap_at_capacity<P>)->Arg(64)->Arg(65536)->Arg(1 << 20);

  for (const char* m : {"limen_heap", "limen_static"}) {
    const std::string name = std::string(m) + "/" + size;
    ratios.push_back({std::string(m) + " / floor, " + size, name, "floor/" + size});
    ratios.push_back({std::string(m) + " / best allocator, " + size, name, "", allocators});
  }
  ratios.push_back({"concurrent handle, 1 thread / heap, " + size,
                    "limen_concurrent_handle/" + size + "/real_time", "limen_heap/" + size});
  // The reason the line above stays far below 1: a thread-safe round trip cannot
  // beat the atomic floor, and the atomic floor alone is slower than the heap manager.
  ratios.push_back({"concurrent handle, 1 thread / atomic floor, " + size,
                    "limen_concurrent_handle/" + size + "/real_time", "atomic_floor/" + size});
  ratios.push_back({"atomic floor / heap, " + size, "atomic_floor/" + size, "limen_heap/" + size});
  ratios.push_back({"concurrent handle, 2 threads / 1 thread, " + size,
                    "limen_concurrent_handle/" + size + "/real_time/threads:2",
                    "limen_concurrent_handle/" + size + "/real_time"});
  ratios.push_back({"concurrent direct, 2 threads / 1 thread, " + size,
                    "limen_concurrent_direct/" + size + "/real_time/threads:2",
                    "limen_concurrent_direct/" + size + "/real_time"});
  ratios.push_back({"heap ring of 256 / new+delete ring, " + size, "limen_heap_ring256/" + size,
                    "new_delete_ring256/" + size});
  ratios.push_back({"heap 1M slots / 64 slots (90% full), " + size,
                    "limen_heap_90pct_full/" + size + "/1048576",
                    "limen_heap_90pct_full/" + size + "/64"});
}

}  // namespace

int main(int argc, char** argv) {
  register_size<64>("64B");
  register_size<4096>("4KiB");
  benchmark::Initialize(&argc, argv);
  limen::bench::RatioReporter reporter(ratios);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
