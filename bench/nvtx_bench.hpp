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
 * densely. With `built_elsewhere` the message is materialised before store
 * (as when a producer filled it in other code); otherwise it is built right in
 * the store call, which lets the compiler construct it in the slot directly.
 */
template <class P, bool built_elsewhere>
void store_free_loop(benchmark::State& state) {
  HeapManager<P> manager(256, MemoryClass::host(), "nvtx-bench");
  std::uint64_t i = 0;
  for (auto _ : state) {
    Message<P> m{P{}};
    m.header.sequence = ++i;
    if constexpr (built_elsewhere) benchmark::DoNotOptimize(m);
    const auto token = manager.store(std::move(m)).value();
    benchmark::DoNotOptimize(token);
    (void)manager.free(token);
  }
  state.SetItemsProcessed(state.iterations());
}

void register_nvtx_on();
void register_nvtx_off();

}  // namespace limen::bench
