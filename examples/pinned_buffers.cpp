// SPDX-License-Identifier: Apache-2.0
// Pinned transfer buffers: a std::pmr::vector living in page-locked memory, raw
// buffers of any size reused without a driver call once the pool is warm, and a
// stream-ordered release (the buffer returns only when the work queued on the
// stream so far is done). Prints the pool's counters.
#include <limen/limen.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory_resource>
#include <numeric>
#include <vector>

int main() {
  limen::PinnedBufferPool pool;

  // Containers: every element in pinned memory, ready for an async copy.
  std::pmr::vector<float> samples(pool.resource());
  samples.resize(100000);
  std::iota(samples.begin(), samples.end(), 0.0F);

  // Buffers of any size; after the first round no allocation reaches the driver.
  for (int round = 0; round < 100; ++round) {
    for (std::size_t bytes : {256, 4096, 1 << 20}) {
      auto buffer = pool.allocate(bytes).value();
      buffer.span()[0] = std::byte{1};
    }
  }

  // A buffer handed to work on a stream goes back only when that work is done.
  limen::ManagerConfig config;
  config.capacity = 4;
  limen::DeviceManager<float> manager(config);  // just for a stream of its own
  auto staging = pool.allocate(64 * 1024).value();
  pool.release(std::move(staging), manager.stream());

  const limen::PoolStats s = pool.stats();
  std::printf("pinned pool (%s): %zu floats in a pmr vector, sum %.0f\n",
              pool.emulated() ? "CPU device" : "GPU", samples.size(),
              static_cast<double>(std::accumulate(samples.begin(), samples.end(), 0.0)));
  std::printf(
      "  %llu hits, %llu misses, %llu chunks, %llu bytes reserved, peak %llu bytes in use\n",
      static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.misses),
      static_cast<unsigned long long>(s.chunks), static_cast<unsigned long long>(s.bytes_reserved),
      static_cast<unsigned long long>(s.peak_bytes_in_use));
  // 300 allocations plus the vector's growth: all but the first few were hits.
  return s.hits >= 290 ? EXIT_SUCCESS : EXIT_FAILURE;
}
