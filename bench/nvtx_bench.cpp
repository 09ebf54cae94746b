// SPDX-License-Identifier: Apache-2.0
// NVTX annotation cost on the host store/free path. This one program is built
// twice: against limen (annotations compiled in; no tool attached, as in
// production without Nsight) and against a copy of the library built without
// NVTX. bench/nvtx_overhead.sh runs both, interleaved, and prints the ratio.
#include <limen/heap_manager.hpp>
#include <limen/runtime.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdio>

namespace {

struct Payload {
  std::array<std::byte, 64> bytes{};
};

/**
 * Host store + free of a 64-byte payload: the path NVTX annotates most densely.
 * Memory is clobbered after each call, as the other work between a real store
 * and free (queues, kernel launches) would; otherwise the compiler may keep the
 * whole manager in registers across this two-call loop, which no program sees.
 */
void store_free(benchmark::State& state) {
  limen::HeapManager<Payload> manager(256, limen::MemoryClass::host(), "nvtx-bench");
  benchmark::DoNotOptimize(&manager);
  std::uint64_t i = 0;
  for (auto _ : state) {
    limen::Message<Payload> m{Payload{}};
    m.header.sequence = ++i;
    const auto token = manager.store(std::move(m)).value();
    benchmark::ClobberMemory();
    (void)manager.free(token);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(store_free)->Repetitions(9)->ReportAggregatesOnly(true);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::printf("NVTX compiled in: %s, tool attached: %s\n",
              limen::runtime_info().nvtx_compiled ? "yes" : "no",
              limen::runtime_info().nvtx_tool_attached ? "yes" : "no");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
