// The same loop as nvtx_bench.cpp with annotations compiled out in this unit.
#define LIMEN_NVTX_DISABLE 1
#include "nvtx_bench.hpp"

namespace limen::bench {

struct PayloadNvtxOff {
  std::array<std::byte, 64> bytes{};
};

void register_nvtx_off() {
  benchmark::RegisterBenchmark("store_free/64B/nvtx_off", store_free_loop<PayloadNvtxOff>)
      ->Repetitions(9)
      ->ReportAggregatesOnly(true);
}

}  // namespace limen::bench
