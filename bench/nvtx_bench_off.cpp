// The same loop as nvtx_bench.cpp with annotations compiled out in this unit.
#define LIMEN_NVTX_DISABLE 1
#include "nvtx_bench.hpp"

namespace limen::bench {

struct PayloadNvtxOff {
  std::array<std::byte, 64> bytes{};
};

void register_nvtx_off() {
  benchmark::RegisterBenchmark("store_free/64B/built_elsewhere/nvtx_off",
                               store_free_loop<PayloadNvtxOff, true>)
      ->Repetitions(5)
      ->ReportAggregatesOnly(true);
  benchmark::RegisterBenchmark("store_free/64B/built_inline/nvtx_off",
                               store_free_loop<PayloadNvtxOff, false>)
      ->Repetitions(5)
      ->ReportAggregatesOnly(true);
}

}  // namespace limen::bench
