// The NVTX overhead benchmark's one loop, compiled twice: with annotations
// (nvtx_bench.cpp) and with LIMEN_NVTX_DISABLE (nvtx_bench_off.cpp). Each
// copy uses its own payload type, so the two template instantiations differ.
#pragma once

#include <limen/heap_manager.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>

namespace limen::bench {

/**
 * @brief Host store + free of a 64-byte payload: the path NVTX annotates most
 * densely.
 *
 * The manager escapes and memory is clobbered after each call, as the other
 * work between a real store and free (queues, kernel launches) would. Without
 * that, an unannotated build lets the compiler keep the whole manager in
 * registers across this two-call loop, which no program sees, and any
 * out-of-line call at all (the annotated path, even untaken) forbids it: the
 * comparison would measure that artefact, not the annotations.
 */
template <class P>
void store_free_loop(benchmark::State& state) {
  HeapManager<P> manager(256, MemoryClass::host(), "nvtx-bench");
  benchmark::DoNotOptimize(&manager);
  std::uint64_t i = 0;
  for (auto _ : state) {
    Message<P> m{P{}};
    m.header.sequence = ++i;
    const auto token = manager.store(std::move(m)).value();
    benchmark::ClobberMemory();
    (void)manager.free(token);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

void register_nvtx_on();
void register_nvtx_off();

}  // namespace limen::bench
