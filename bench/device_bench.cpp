// GPU round trips through limen against the raw CUDA calls they stand for,
// measured in the same binary: store (host->device copy + sync), read (device->host
// copy + sync) and free of one message, against cudaMemcpyAsync both ways with
// a stream sync after each, on pinned buffers. Skips, saying why, without a GPU.
#include "ratio_reporter.hpp"

#include <limen/limen.hpp>

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace {

template <std::size_t Bytes>
struct Payload {
  std::byte bytes[Bytes];
};

bool skip_without_gpu(benchmark::State& state) {
  if (!limen::runtime_info().fallback_active) return false;
  state.SkipWithError(("no usable CUDA device: " + limen::runtime_info().fallback_reason).c_str());
  return true;
}

limen::ManagerConfig gpu_config() {
  limen::ManagerConfig c;
  c.capacity = 64;
  c.fallback = limen::Fallback::Fail;
  c.name = "bench";
  return c;
}

template <class M, class P>
void round_trip(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  auto made = M::create(gpu_config());
  if (!made) {
    state.SkipWithError(std::string(limen::to_string(made.error())).c_str());
    return;
  }
  auto& m = *made;
  // Built once, on the heap: the loop measures limen, not building a message.
  const auto prototype = std::make_unique<limen::Message<P>>();
  for (auto _ : state) {
    const auto t = m.store(*prototype).value();
    {
      auto r = m.read(t).value();
      benchmark::DoNotOptimize(r->payload.bytes[0]);
    }
    (void)m.free(t);
  }
  state.SetItemsProcessed(state.iterations());
}

/// The CUDA work a device round trip needs at least: one copy each way, each waited for.
template <class P>
void raw_cuda(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  cudaStream_t stream = nullptr;
  void* host = nullptr;
  void* device = nullptr;
  if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess ||
      cudaHostAlloc(&host, sizeof(P), cudaHostAllocDefault) != cudaSuccess ||
      cudaMalloc(&device, sizeof(P)) != cudaSuccess) {
    state.SkipWithError("CUDA setup failed");
    return;
  }
  for (auto _ : state) {
    (void)cudaMemcpyAsync(device, host, sizeof(P), cudaMemcpyHostToDevice, stream);
    (void)cudaStreamSynchronize(stream);
    (void)cudaMemcpyAsync(host, device, sizeof(P), cudaMemcpyDeviceToHost, stream);
    (void)cudaStreamSynchronize(stream);
    benchmark::DoNotOptimize(static_cast<std::byte*>(host)[0]);
  }
  state.SetItemsProcessed(state.iterations());
  (void)cudaFree(device);
  (void)cudaFreeHost(host);
  (void)cudaStreamDestroy(stream);
}

template <std::size_t Bytes>
void register_size(const std::string& size) {
  using P = Payload<Bytes>;
  benchmark::RegisterBenchmark(("device_round_trip/" + size).c_str(),
                               round_trip<limen::DeviceManager<P>, P>);
  benchmark::RegisterBenchmark(("raw_cuda_copies/" + size).c_str(), raw_cuda<P>);
  benchmark::RegisterBenchmark(("pinned_round_trip/" + size).c_str(),
                               round_trip<limen::PinnedManager<P>, P>);
  benchmark::RegisterBenchmark(("shared_round_trip/" + size).c_str(),
                               round_trip<limen::SharedManager<P>, P>);
}

}  // namespace

int main(int argc, char** argv) {
  register_size<64>("64B");
  register_size<4096>("4KiB");
  register_size<1 << 20>("1MiB");
  benchmark::Initialize(&argc, argv);
  std::vector<limen::bench::RatioReporter::Ratio> ratios;
  for (const std::string size : {"64B", "4KiB", "1MiB"}) {
    ratios.push_back({"limen device round trip / raw copies (1.0 = no overhead), " + size,
                      "device_round_trip/" + size, "raw_cuda_copies/" + size});
    ratios.push_back({"pinned round trip / device round trip (items/s), " + size,
                      "pinned_round_trip/" + size, "device_round_trip/" + size});
  }
  limen::bench::RatioReporter reporter(std::move(ratios));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
