// SPDX-License-Identifier: Apache-2.0
// Pinned transfer buffers and batched staging on the host, with baselines
// measured in the same run:
//   pool/<size>      warm PinnedBufferPool allocate + release, against new/delete
//                    of the same size (the pool's target: within 2x).
//   batch/<n>x<size> store_batch of n messages into a DeviceManager, against one
//                    store per message and against memcpy of the same bytes.
// On the CPU fallback the "device" is host memory, so these time limen's own
// work; gpu_bench.cpp measures the same on a GPU.
#include "ratio_reporter.hpp"

#include <limen/limen.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

void pool_round_trip(benchmark::State& state, std::size_t bytes) {
  limen::PinnedBufferPool pool;
  pool.allocate(bytes).value().reset();  // warm
  for (auto _ : state) {
    auto buffer = pool.allocate(bytes).value();
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void new_delete(benchmark::State& state, std::size_t bytes) {
  for (auto _ : state) {
    auto* p = new std::byte[bytes];
    benchmark::DoNotOptimize(p);
    delete[] p;
  }
  state.SetItemsProcessed(state.iterations());
}

template <std::size_t Bytes>
struct Payload {
  std::array<std::byte, Bytes> bytes{};
};

template <std::size_t Bytes>
std::vector<limen::Message<Payload<Bytes>>> messages(std::size_t n) {
  return std::vector<limen::Message<Payload<Bytes>>>(n);
}

template <std::size_t Bytes>
limen::DeviceManager<Payload<Bytes>> manager(std::size_t capacity) {
  limen::ManagerConfig c;
  c.capacity = capacity;
  c.name = "staging-bench";
  return limen::DeviceManager<Payload<Bytes>>(c);
}

template <std::size_t Bytes>
void store_batch(benchmark::State& state, std::size_t n) {
  auto m = manager<Bytes>(n);
  const auto in = messages<Bytes>(n);
  for (auto _ : state) {
    const auto tokens = m.store_batch(in).value();
    for (auto t : tokens) (void)m.free(t);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * Bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

template <std::size_t Bytes>
void store_each(benchmark::State& state, std::size_t n) {
  auto m = manager<Bytes>(n);
  const auto in = messages<Bytes>(n);
  std::vector<limen::MessageToken> tokens(n);
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) tokens[i] = m.store(in[i]).value();
    for (auto t : tokens) (void)m.free(t);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * Bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

template <std::size_t Bytes>
void copy_bytes(benchmark::State& state, std::size_t n) {
  std::vector<std::byte> from(n * Bytes), to(n * Bytes);
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), from.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * n * Bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

std::vector<limen::bench::RatioReporter::Ratio> ratios;

void register_pool(std::size_t bytes, const std::string& size) {
  benchmark::RegisterBenchmark(("pool/" + size).c_str(), pool_round_trip, bytes);
  benchmark::RegisterBenchmark(("new_delete/" + size).c_str(), new_delete, bytes);
  ratios.push_back({"pool / new+delete (items/s), " + size, "pool/" + size, "new_delete/" + size});
}

template <std::size_t Bytes>
void register_batch(std::size_t n, const std::string& size) {
  const std::string tag = std::to_string(n) + "x" + size;
  benchmark::RegisterBenchmark(("batch/" + tag).c_str(), store_batch<Bytes>, n);
  benchmark::RegisterBenchmark(("per_message/" + tag).c_str(), store_each<Bytes>, n);
  benchmark::RegisterBenchmark(("memcpy/" + tag).c_str(), copy_bytes<Bytes>, n);
  ratios.push_back(
      {"store_batch / one store each (items/s), " + tag, "batch/" + tag, "per_message/" + tag});
  ratios.push_back(
      {"store_batch / memcpy of the bytes (items/s), " + tag, "batch/" + tag, "memcpy/" + tag});
}

}  // namespace

int main(int argc, char** argv) {
  register_pool(64, "64B");
  register_pool(4096, "4KiB");
  register_pool(65536, "64KiB");
  for (std::size_t n : {1, 64, 4096, 65536}) register_batch<64>(n, "64B");
  for (std::size_t n : {1, 64, 4096}) register_batch<4096>(n, "4KiB");
  benchmark::Initialize(&argc, argv);
  std::printf("backend: %s\n", limen::runtime_info().fallback_active ? "CPU fallback" : "GPU");
  limen::bench::RatioReporter reporter(ratios);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
