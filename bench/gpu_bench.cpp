// SPDX-License-Identifier: Apache-2.0
// GPU round trips through limen against what a user would write instead,
// measured in the same process on the same GPU. Built without Google Benchmark
// (the GPU machines have none): each case is timed with a steady clock over
// many iterations after a warm-up, the median of five repeats reported, and
// every ratio uses a baseline measured in this run.
//
//   limen_gpu_bench [--quick] [--json FILE]
//     exit 0: ran; 77: no GPU (skipped); 1: every case failed
//   --json FILE writes the cases and the ratio definitions in Google Benchmark's
//   JSON shape, for bench/report.py (with bench/gpu_peers.py's file beside it).
#include <limen/limen.hpp>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

/// One measured case: nanoseconds per operation, or why it could not run.
struct Measured {
  std::string name;
  double ns = 0;
  std::string error;
};

int g_repeats = 5;
int g_iterations = 2000;

/// Median over repeats of the mean time of @p iterations calls of @p op.
double time_ns(const std::function<bool()>& op, int iterations) {
  for (int i = 0; i < iterations / 10 + 1; ++i) {
    if (!op()) return -1;  // warm-up
  }
  std::vector<double> runs;
  for (int r = 0; r < g_repeats; ++r) {
    const auto start = Clock::now();
    for (int i = 0; i < iterations; ++i) {
      if (!op()) return -1;
    }
    const std::chrono::duration<double, std::nano> took = Clock::now() - start;
    runs.push_back(took.count() / iterations);
  }
  std::sort(runs.begin(), runs.end());
  return runs[runs.size() / 2];
}

template <std::size_t Bytes>
struct Payload {
  std::byte bytes[Bytes];
};

limen::ManagerConfig gpu_config() {
  limen::ManagerConfig c;
  c.capacity = 64;
  c.fallback = limen::Fallback::Fail;
  c.name = "bench";
  return c;
}

/// store + read + free of one message through manager M.
template <class M, class P>
Measured limen_round_trip(const std::string& name, int iterations) {
  auto made = M::create(gpu_config());
  if (!made) return {name, 0, std::string(limen::to_string(made.error()))};
  auto& m = *made;
  const auto message = std::make_unique<limen::Message<P>>();
  volatile std::byte sink{};
  const double ns = time_ns(
      [&] {
        auto t = m.store(*message);
        if (!t) return false;
        {
          auto r = m.read(*t);
          if (!r) return false;
          sink = (*r)->payload.bytes[0];
        }
        return m.free(*t).has_value();
      },
      iterations);
  return {name, ns, ns < 0 ? "a call failed" : ""};
}

/// The raw CUDA a device round trip needs at least: a copy each way, one wait.
template <class P>
Measured raw_one_sync(const std::string& name, int iterations) {
  cudaStream_t stream = nullptr;
  void* host = nullptr;
  void* device = nullptr;
  if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess ||
      cudaHostAlloc(&host, sizeof(P), cudaHostAllocDefault) != cudaSuccess ||
      cudaMalloc(&device, sizeof(P)) != cudaSuccess) {
    return {name, 0, "CUDA setup failed"};
  }
  const double ns = time_ns(
      [&] {
        return cudaMemcpyAsync(device, host, sizeof(P), cudaMemcpyHostToDevice, stream) ==
                   cudaSuccess &&
               cudaMemcpyAsync(host, device, sizeof(P), cudaMemcpyDeviceToHost, stream) ==
                   cudaSuccess &&
               cudaStreamSynchronize(stream) == cudaSuccess;
      },
      iterations);
  (void)cudaFree(device);
  (void)cudaFreeHost(host);
  (void)cudaStreamDestroy(stream);
  return {name, ns, ns < 0 ? "a CUDA call failed" : ""};
}

/// Allocate from a warm stream-ordered pool, copy in and out, free: per message.
template <class P>
Measured malloc_async(const std::string& name, int iterations) {
  cudaStream_t stream = nullptr;
  void* host = nullptr;
  if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess ||
      cudaHostAlloc(&host, sizeof(P), cudaHostAllocDefault) != cudaSuccess) {
    return {name, 0, "CUDA setup failed"};
  }
  const double ns = time_ns(
      [&] {
        void* device = nullptr;
        return cudaMallocAsync(&device, sizeof(P), stream) == cudaSuccess &&
               cudaMemcpyAsync(device, host, sizeof(P), cudaMemcpyHostToDevice, stream) ==
                   cudaSuccess &&
               cudaMemcpyAsync(host, device, sizeof(P), cudaMemcpyDeviceToHost, stream) ==
                   cudaSuccess &&
               cudaFreeAsync(device, stream) == cudaSuccess &&
               cudaStreamSynchronize(stream) == cudaSuccess;
      },
      iterations);
  (void)cudaFreeHost(host);
  (void)cudaStreamDestroy(stream);
  return {name, ns, ns < 0 ? "a CUDA call failed" : ""};
}

struct Ratio {
  std::string label;
  std::string of;
  std::string over;
};

template <std::size_t Bytes>
void round_trips(const std::string& size, std::vector<Measured>& out, std::vector<Ratio>& ratios) {
  using P = Payload<Bytes>;
  const int n = Bytes >= (1 << 20) ? g_iterations / 20 : g_iterations;
  out.push_back(limen_round_trip<limen::DeviceManager<P>, P>("device_round_trip/" + size, n));
  out.push_back(raw_one_sync<P>("raw_one_sync/" + size, n));
  out.push_back(malloc_async<P>("malloc_async_round_trip/" + size, n));
  out.push_back(limen_round_trip<limen::PinnedManager<P>, P>("pinned_round_trip/" + size, n));
  out.push_back(limen_round_trip<limen::SharedManager<P>, P>("shared_round_trip/" + size, n));
  ratios.push_back({"limen device / raw one-sync copies (time), " + size,
                    "device_round_trip/" + size, "raw_one_sync/" + size});
  ratios.push_back({"limen device / cudaMallocAsync+copies+free (time), " + size,
                    "device_round_trip/" + size, "malloc_async_round_trip/" + size});
}

/// Warm PinnedBufferPool allocate + release against cudaHostAlloc + cudaFreeHost.
void pinned_buffers(std::size_t bytes, const std::string& size, std::vector<Measured>& out,
                    std::vector<Ratio>& ratios) {
  auto pool = limen::PinnedBufferPool::create();
  if (!pool) {
    out.push_back({"pool_round_trip/" + size, 0, std::string(limen::to_string(pool.error()))});
  } else {
    (void)pool->allocate(bytes);  // warm: the chunk exists (a failure shows in the timed loop)
    const double ns = time_ns([&] { return pool->allocate(bytes).has_value(); }, g_iterations * 10);
    out.push_back({"pool_round_trip/" + size, ns, ns < 0 ? "allocate failed" : ""});
  }
  const double raw = time_ns(
      [&] {
        void* p = nullptr;
        return cudaHostAlloc(&p, bytes, cudaHostAllocMapped | cudaHostAllocPortable) ==
                   cudaSuccess &&
               cudaFreeHost(p) == cudaSuccess;
      },
      g_iterations / 10 + 1);
  out.push_back({"cudaHostAlloc_free/" + size, raw, raw < 0 ? "cudaHostAlloc failed" : ""});
  ratios.push_back({"pinned pool / cudaHostAlloc+cudaFreeHost (time), " + size,
                    "pool_round_trip/" + size, "cudaHostAlloc_free/" + size});
}

/// One batch of n messages: store_batch + wait, against one store each + wait, against
/// one plain pinned cudaMemcpyAsync of the same bytes (the bandwidth ceiling).
template <std::size_t Bytes>
void staging(std::size_t n, std::vector<Measured>& out, std::vector<Ratio>& ratios) {
  using P = Payload<Bytes>;
  const std::string tag = std::to_string(n) + "x" + std::to_string(Bytes) + "B";
  limen::ManagerConfig c = gpu_config();
  c.capacity = n;
  auto made = limen::DeviceManager<P>::create(c);
  if (!made) {
    out.push_back({"batch/" + tag, 0, std::string(limen::to_string(made.error()))});
    return;
  }
  auto& m = *made;
  cudaStream_t stream = nullptr;
  (void)cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  const limen::StreamHandle s{stream};
  const std::vector<limen::Message<P>> in(n);
  std::vector<limen::MessageToken> tokens(n);
  const int iterations = static_cast<int>(std::max<std::size_t>(3, (64u << 20) / (n * Bytes + 1)));
  const auto free_all = [&] {
    for (auto t : tokens) (void)m.free(t);
  };
  const double batch = time_ns(
      [&] {
        auto stored = m.store_batch(in, s);
        if (!stored) return false;
        tokens = std::move(*stored);
        const bool ok = cudaStreamSynchronize(stream) == cudaSuccess;
        free_all();
        return ok;
      },
      iterations);
  const double each = time_ns(
      [&] {
        std::size_t stored = 0;
        for (; stored < n; ++stored) {
          auto t = m.store(in[stored]);
          if (!t) break;  // reported as a failed case, never a terminate
          tokens[stored] = *t;
        }
        const bool ok = stored == n && cudaDeviceSynchronize() == cudaSuccess;
        for (std::size_t i = 0; i < stored; ++i) (void)m.free(tokens[i]);
        return ok;
      },
      std::max(2, iterations / 8));
  void* host = nullptr;
  void* device = nullptr;
  (void)cudaHostAlloc(&host, n * Bytes, cudaHostAllocDefault);
  (void)cudaMalloc(&device, n * Bytes);
  const double ceiling = time_ns(
      [&] {
        return cudaMemcpyAsync(device, host, n * Bytes, cudaMemcpyHostToDevice, stream) ==
                   cudaSuccess &&
               cudaStreamSynchronize(stream) == cudaSuccess;
      },
      iterations);
  (void)cudaFree(device);
  (void)cudaFreeHost(host);
  (void)cudaStreamDestroy(stream);
  out.push_back({"batch/" + tag, batch, batch < 0 ? "store_batch failed" : ""});
  out.push_back({"per_message/" + tag, each, each < 0 ? "a store failed" : ""});
  out.push_back({"pinned_memcpy/" + tag, ceiling, ceiling < 0 ? "copy failed" : ""});
  ratios.push_back(
      {"per-message stores / store_batch (time), " + tag, "per_message/" + tag, "batch/" + tag});
  ratios.push_back({"plain pinned copy / store_batch (time; 1.0 = ceiling), " + tag,
                    "pinned_memcpy/" + tag, "batch/" + tag});
}

const Measured* find(const std::vector<Measured>& all, const std::string& name) {
  for (const auto& m : all) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

void report(const std::vector<Measured>& all, const std::vector<Ratio>& ratios) {
  std::printf("%-44s %14s\n", "case", "ns/op");
  for (const auto& m : all) {
    if (m.error.empty()) {
      std::printf("%-44s %14.1f\n", m.name.c_str(), m.ns);
    } else {
      std::printf("%-44s %14s  (%s)\n", m.name.c_str(), "error", m.error.c_str());
    }
  }
  std::printf("\n%-72s %8s\n", "ratio of times (same run)", "value");
  for (const auto& r : ratios) {
    const Measured* a = find(all, r.of);
    const Measured* b = find(all, r.over);
    if (a == nullptr || b == nullptr || !a->error.empty() || !b->error.empty() || b->ns <= 0) {
      std::printf("%-72s %8s\n", r.label.c_str(), "n/a");
    } else {
      std::printf("%-72s %7.2fx\n", r.label.c_str(), a->ns / b->ns);
    }
  }
}

/// Names here are plain ASCII without quotes or backslashes: no escaping needed.
bool write_json(const char* path, const std::string& gpu, const std::vector<Measured>& all,
                const std::vector<Ratio>& ratios) {
  std::ofstream f(path);
  f << "{\n  \"context\": {\n    \"gpu\": \"" << gpu << "\"";
  for (const auto& r : ratios) {
    f << ",\n    \"ratio: " << r.label << "\": \"num=" << r.of << ";den=" << r.over
      << ";metric=time\"";
  }
  f << "\n  },\n  \"benchmarks\": [";
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Measured& m = all[i];
    f << (i ? ",\n" : "\n") << "    {\"name\": \"" << m.name << "\", ";
    if (m.error.empty()) {
      f << "\"real_time\": " << m.ns << ", \"time_unit\": \"ns\"}";
    } else {
      f << "\"error_occurred\": true, \"error_message\": \"" << m.error << "\"}";
    }
  }
  f << "\n  ]\n}\n";
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
  const char* json = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      g_repeats = 3;
      g_iterations = 300;
    } else if (std::strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
      json = argv[++i];
    } else {
      std::fprintf(stderr, "usage: limen_gpu_bench [--quick] [--json FILE]\n");
      return 2;
    }
  }
  const auto& info = limen::runtime_info();
  if (info.fallback_active) {
    std::printf("no usable GPU (%s): GPU benchmarks skipped\n", info.fallback_reason.c_str());
    return 77;
  }
  std::printf("GPU: %s\n\n", info.devices[0].name.c_str());
  std::vector<Measured> all;
  std::vector<Ratio> ratios;
  round_trips<64>("64B", all, ratios);
  round_trips<4096>("4KiB", all, ratios);
  round_trips<(1 << 20)>("1MiB", all, ratios);
  pinned_buffers(64, "64B", all, ratios);
  pinned_buffers(4096, "4KiB", all, ratios);
  pinned_buffers(1 << 20, "1MiB", all, ratios);
  for (std::size_t n : {std::size_t{1}, std::size_t{64}, std::size_t{4096}, std::size_t{65536}}) {
    staging<64>(n, all, ratios);
  }
  for (std::size_t n : {std::size_t{1}, std::size_t{64}, std::size_t{1024}, std::size_t{4096}}) {
    staging<4096>(n, all, ratios);
  }
  report(all, ratios);
  if (json != nullptr && !write_json(json, info.devices[0].name, all, ratios)) {
    std::fprintf(stderr, "could not write %s\n", json);
    return 1;
  }
  // Every case must run: a failed one is a failed check (bench/gpu_check.sh), not a gap.
  const auto failed =
      std::count_if(all.begin(), all.end(), [](const Measured& m) { return !m.error.empty(); });
  if (failed != 0) {
    std::fprintf(stderr, "limen_gpu_bench: %ld case(s) failed (see the table)\n",
                 static_cast<long>(failed));
    return 1;
  }
  return 0;
}
