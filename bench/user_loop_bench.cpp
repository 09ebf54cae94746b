// SPDX-License-Identifier: Apache-2.0
// The host round trip (copy a Message<P> in, read it, release it; P = 64 B and
// 4 KiB) in the shape a user writes it, for every contender of
// bench/host_bench.cpp: the handle goes through a queue in memory and code the
// compiler cannot see, the guard (or pointer) stays alive across a call into
// another translation unit that reads the payload, and every result is checked
// (bench/user_shape.hpp has the loops). host_bench.cpp measures the loop the
// compiler sees whole; this measures what a user's code gets. The same source
// is built twice, at -O3 (limen_bench_user_loop) and at -O2
// (limen_bench_user_loop_o2), since users build at either.
//
// Each run adds up what the consumer returned and compares it with the sum it
// must be; a wrong sum marks the run as an error.
#include "ratio_reporter.hpp"
#include "user_shape.hpp"

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace {

using limen::bench::Payload;

template <class P, class Contender>
void measure(benchmark::State& state, Contender& contender) {
  const limen::bench::Sources<P> sources;
  std::uint64_t sum = 0;
  std::size_t i = 0;
  for (auto _ : state) sum += contender.round_trip(sources[i++]);
  if (sum != sources.expected(i)) state.SkipWithError("the consumer read the wrong messages");
  state.SetItemsProcessed(state.iterations());
}

template <class P>
void floor_pool(benchmark::State& state) {
  limen::bench::UserSlotPool<limen::bench::FloorPool<P>, P> contender;
  measure<P>(state, contender);
}

template <class P>
void atomic_floor(benchmark::State& state) {
  limen::bench::UserSlotPool<limen::bench::AtomicFloorPool<P>, P> contender;
  measure<P>(state, contender);
}

template <class P>
void cached_atomic_floor(benchmark::State& state) {
  limen::bench::UserSlotPool<limen::bench::CachedAtomicFloorPool<P>, P> contender;
  measure<P>(state, contender);
}

template <class P>
void new_delete(benchmark::State& state) {
  limen::bench::UserNewDelete<P> contender;
  measure<P>(state, contender);
}

template <class P>
void pmr_pool(benchmark::State& state) {
  limen::bench::UserPmr<P> contender;
  measure<P>(state, contender);
}

#if defined(LIMEN_BENCH_MIMALLOC)
template <class P>
void mimalloc(benchmark::State& state) {
  const auto* mi = limen::bench::Mimalloc::get();
  if (mi == nullptr) {
    state.SkipWithError("mimalloc could not be loaded");
    return;
  }
  limen::bench::UserMimalloc<P> contender(*mi);
  measure<P>(state, contender);
}
#endif

#if defined(LIMEN_BENCH_BOOST)
template <class P>
void boost_pool(benchmark::State& state) {
  limen::bench::UserBoostPool<P> contender;
  measure<P>(state, contender);
}
#endif

template <class P>
void heap_manager(benchmark::State& state) {
  limen::HeapManager<P> m(256);
  limen::bench::UserLimen<limen::HeapManager<P>, P> contender(m);
  measure<P>(state, contender);
}

template <class P>
void static_manager(benchmark::State& state) {
  auto m = std::make_unique<limen::StaticManager<P, 256>>();
  limen::bench::UserLimen<limen::StaticManager<P, 256>, P> contender(*m);
  measure<P>(state, contender);
}

template <class P>
void concurrent_handle(benchmark::State& state) {
  static limen::ConcurrentManager<P> shared(1024);
  using Handle = limen::ConcurrentHandle<P>;
  limen::bench::UserLimen<Handle, P, Handle> contender(shared.scoped_handle());
  measure<P>(state, contender);
}

using Ratio = limen::bench::RatioReporter::Ratio;
std::vector<Ratio> ratios;

template <std::size_t Bytes>
void register_size(const std::string& size) {
  using P = Payload<Bytes>;
  const auto reg = [&](const std::string& name, auto fn) {
    return benchmark::RegisterBenchmark((name + "/" + size).c_str(), fn);
  };
  reg("floor", floor_pool<P>);
  reg("atomic_floor", atomic_floor<P>);
  reg("cached_atomic_floor", cached_atomic_floor<P>);
  reg("new_delete", new_delete<P>);
  reg("pmr_unsynchronized", pmr_pool<P>);
#if defined(LIMEN_BENCH_MIMALLOC)
  reg("mimalloc", mimalloc<P>);
#endif
#if defined(LIMEN_BENCH_BOOST)
  reg("boost_object_pool", boost_pool<P>);
#endif
  reg("limen_heap", heap_manager<P>);
  reg("limen_static", static_manager<P>);
  reg("limen_concurrent_handle", concurrent_handle<P>);

  const std::vector<std::string> allocators{"new_delete/" + size, "mimalloc/" + size,
                                            "pmr_unsynchronized/" + size};
  for (const char* m : {"limen_heap", "limen_static"}) {
    const std::string name = std::string(m) + "/" + size;
    ratios.push_back({std::string(m) + " / best allocator, " + size, name, "", allocators});
    ratios.push_back({std::string(m) + " / floor, " + size, name, "floor/" + size});
  }
  ratios.push_back({"limen_heap / boost_object_pool, " + size, "limen_heap/" + size,
                    "boost_object_pool/" + size});
  ratios.push_back({"concurrent handle / atomic floor, " + size, "limen_concurrent_handle/" + size,
                    "atomic_floor/" + size});
  ratios.push_back({"concurrent handle / cached atomic floor, " + size,
                    "limen_concurrent_handle/" + size, "cached_atomic_floor/" + size});
  ratios.push_back({"cached atomic floor / atomic floor, " + size, "cached_atomic_floor/" + size,
                    "atomic_floor/" + size});
  ratios.push_back({"concurrent handle / heap, " + size, "limen_concurrent_handle/" + size,
                    "limen_heap/" + size});
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
