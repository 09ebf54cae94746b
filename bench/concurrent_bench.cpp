// SPDX-License-Identifier: Apache-2.0
// ConcurrentManager round trips (store + read + free) against a mutex-wrapped
// HeapManager and against new/delete, at 1 and 2 threads, 64 B and 4 KiB payloads.
// Each thread works on its own tokens ("disjoint tokens").
#include "ratio_reporter.hpp"

#include <limen/limen.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace {

template <std::size_t Bytes>
struct Payload {
  std::array<std::byte, Bytes> bytes{};
};

constexpr std::size_t kCapacity = 1024;

template <class P>
limen::Message<P> make_message(std::int64_t i) {
  limen::Message<P> m{P{}};
  m.header.sequence = static_cast<std::uint64_t>(i);
  return m;
}

// --- limen::ConcurrentManager, one scoped handle per thread ------------------
template <class P>
std::optional<limen::ConcurrentManager<P>> concurrent;

template <class P>
void BM_Concurrent(benchmark::State& state) {
  auto handle = concurrent<P>->scoped_handle();
  std::int64_t i = 0;
  for (auto _ : state) {
    const auto token = handle.store(make_message<P>(++i)).value();
    {
      auto guard = handle.read(token).value();
      benchmark::DoNotOptimize(guard->payload.bytes[0]);
    }
    (void)handle.free(token);
  }
  state.SetItemsProcessed(state.iterations());
}

// --- HeapManager behind one std::mutex ---------------------------------------
template <class P>
struct Locked {
  std::mutex mutex;
  limen::HeapManager<P> manager{kCapacity};
};
template <class P>
std::optional<Locked<P>> locked;

template <class P>
void BM_MutexHeap(benchmark::State& state) {
  auto& l = *locked<P>;
  std::int64_t i = 0;
  for (auto _ : state) {
    auto message = make_message<P>(++i);
    limen::MessageToken token;
    {
      std::lock_guard lock(l.mutex);
      token = l.manager.store(std::move(message)).value();
    }
    {
      std::lock_guard lock(l.mutex);
      auto guard = l.manager.read(token).value();
      benchmark::DoNotOptimize(guard->payload.bytes[0]);
    }
    std::lock_guard lock(l.mutex);
    (void)l.manager.free(token);
  }
  state.SetItemsProcessed(state.iterations());
}

// --- new / delete of the message ---------------------------------------------
template <class P>
void BM_NewDelete(benchmark::State& state) {
  std::int64_t i = 0;
  for (auto _ : state) {
    auto* m = new limen::Message<P>(make_message<P>(++i));
    benchmark::DoNotOptimize(m->payload.bytes[0]);
    delete m;
  }
  state.SetItemsProcessed(state.iterations());
}

template <class P>
void setup(const benchmark::State&) {
  concurrent<P>.emplace(kCapacity);
  locked<P>.emplace();
}
template <class P>
void teardown(const benchmark::State&) {
  concurrent<P>.reset();
  locked<P>.reset();
}

template <class P>
void register_all(const std::string& size) {
  auto add = [&](const std::string& name, void (*fn)(benchmark::State&)) {
    benchmark::RegisterBenchmark((name + "/" + size).c_str(), fn)
        ->Setup(setup<P>)
        ->Teardown(teardown<P>)
        ->Threads(1)
        ->Threads(2)
        ->UseRealTime()
        ->MinTime(0.3);
  };
  add("concurrent", BM_Concurrent<P>);
  add("mutex_heap", BM_MutexHeap<P>);
  add("new_delete", BM_NewDelete<P>);
}

std::vector<limen::bench::RatioReporter::Ratio> ratios() {
  std::vector<limen::bench::RatioReporter::Ratio> out;
  for (const std::string size : {"64B", "4KiB"}) {
    const std::string c = "concurrent/" + size + "/min_time:0.300/real_time/threads:";
    const std::string m = "mutex_heap/" + size + "/min_time:0.300/real_time/threads:";
    const std::string n = "new_delete/" + size + "/min_time:0.300/real_time/threads:";
    out.push_back({"concurrent " + size + ": 2 threads / 1 thread", c + "2", c + "1"});
    out.push_back({"mutex_heap " + size + ": 2 threads / 1 thread", m + "2", m + "1"});
    out.push_back({"concurrent / mutex_heap, " + size + ", 2 threads", c + "2", m + "2"});
    out.push_back({"concurrent / mutex_heap, " + size + ", 1 thread", c + "1", m + "1"});
    out.push_back({"concurrent / new_delete, " + size + ", 2 threads", c + "2", n + "2"});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  register_all<Payload<64>>("64B");
  register_all<Payload<4096>>("4KiB");
  benchmark::Initialize(&argc, argv);
  limen::bench::RatioReporter reporter(ratios());
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
