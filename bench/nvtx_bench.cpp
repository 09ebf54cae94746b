// NVTX annotation overhead on the host store/free path: annotations compiled in
// (no tool attached, as in production without Nsight) against compiled out.
#include "nvtx_bench.hpp"

#include "ratio_reporter.hpp"

#include <limen/detail/nvtx.hpp>

#include <cstdio>
#include <string>

namespace limen::bench {

struct PayloadNvtxOn {
  std::array<std::byte, 64> bytes{};
};

void register_nvtx_on() {
  benchmark::RegisterBenchmark("store_free/64B/nvtx_on", store_free_loop<PayloadNvtxOn>)
      ->Repetitions(9)
      ->ReportAggregatesOnly(true);
}

}  // namespace limen::bench

int main(int argc, char** argv) {
  limen::bench::register_nvtx_on();
  limen::bench::register_nvtx_off();
  benchmark::Initialize(&argc, argv);
  std::printf("NVTX compiled into the annotated copy: %s\n",
              limen::detail::nvtx::enabled ? "yes" : "no (both copies are unannotated)");
  // Time with NVTX over time without: 1.05 is 5 % overhead.
  limen::bench::RatioReporter reporter(
      {{"nvtx_on / nvtx_off time per store+free (median of 9)",
        "store_free/64B/nvtx_off/repeats:9_median", "store_free/64B/nvtx_on/repeats:9_median"}});
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
