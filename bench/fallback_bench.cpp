// SPDX-License-Identifier: Apache-2.0
// The pinned/device/shared path on the CPU fallback: store + read + free of a
// 64-byte message through each class, with the single-threaded and the
// thread-safe slot table, directly and through AnyManager. It answers two
// questions: what the thread-safe table costs a single-threaded user of the
// class managers (it decides whether one table could serve both), and whether
// a change regresses the fallback device path (the AnyManager row).
#include "ratio_reporter.hpp"

#include <limen/limen.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <memory>
#include <string>

namespace {

struct Payload {
  std::array<std::byte, 64> bytes{};
};

limen::ManagerConfig config(bool thread_safe) {
  limen::ManagerConfig c;
  c.capacity = 256;
  c.thread_safe = thread_safe;
  c.name = "fallback-bench";
  return c;
}

template <class M>
void round_trip(benchmark::State& state, M& m) {
  const auto message = std::make_unique<limen::Message<Payload>>();
  for (auto _ : state) {
    const auto token = m.store(*message).value();
    {
      auto guard = m.read(token).value();
      benchmark::DoNotOptimize(guard->payload.bytes[0]);
    }
    (void)m.free(token);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

template <class M>
void direct(benchmark::State& state, bool thread_safe) {
  M m(config(thread_safe));
  round_trip(state, m);
}

void through_any(benchmark::State& state, limen::MemoryClass memory_class, bool thread_safe) {
  auto m = limen::make_manager<Payload>(memory_class, config(thread_safe)).value();
  round_trip(state, m);
}

void register_class(const std::string& name, auto direct_fn, limen::MemoryClass memory_class) {
  for (const bool safe : {false, true}) {
    const std::string table = safe ? "/thread_safe" : "/single";
    benchmark::RegisterBenchmark((name + table).c_str(), direct_fn, safe);
    benchmark::RegisterBenchmark(("any_" + name + table).c_str(), through_any, memory_class, safe);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_class("pinned", direct<limen::PinnedManager<Payload>>,
                 limen::MemoryClass::pinned_host());
  register_class("device", direct<limen::DeviceManager<Payload>>, limen::MemoryClass::device(0));
  register_class("shared", direct<limen::SharedManager<Payload>>, limen::MemoryClass::shared());
  benchmark::Initialize(&argc, argv);
  std::printf("backend: %s\n", limen::runtime_info().fallback_active ? "CPU fallback" : "GPU");
  limen::bench::RatioReporter reporter({
      {"pinned: thread-safe / single-threaded table (items/s)", "pinned/thread_safe",
       "pinned/single"},
      {"device: thread-safe / single-threaded table (items/s)", "device/thread_safe",
       "device/single"},
      {"shared: thread-safe / single-threaded table (items/s)", "shared/thread_safe",
       "shared/single"},
      {"device through AnyManager / direct (items/s)", "any_device/single", "device/single"},
  });
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
