// SPDX-License-Identifier: Apache-2.0
// Staging a batch for a kernel: 1000 readings stored with one store_batch (one
// packed upload, one scatter), gathered into a pinned transfer buffer the GPU
// can address, scaled there by a kernel, scattered back into their slots, and
// read by the host, which waits for nothing by hand. Without a GPU the same
// code runs on the CPU device (the "kernel" is a host task on the stream).
#include "demo_kernels.hpp"

#include <limen/limen.hpp>

#include <cstdio>
#include <cstdlib>
#include <vector>

int main() {
  using limen::demo::Reading;
  constexpr std::size_t n = 1000;
  limen::ManagerConfig config;
  config.capacity = n;
  config.name = "batch-example";
  limen::DeviceManager<Reading> manager(config);
  limen::PinnedBufferPool pool;  // transfer buffers: page-locked and mapped
  const limen::StreamHandle stream = manager.stream();

  std::vector<limen::Message<Reading>> readings;
  for (std::size_t i = 0; i < n; ++i) {
    const auto v = static_cast<float>(i);
    readings.emplace_back(Reading{{v, v, v, v}});
  }
  const auto tokens = manager.store_batch(readings, stream).value();

  // The kernel's input: the payloads gathered into one contiguous array.
  auto buffer = pool.allocate(n * sizeof(Reading)).value();
  auto* array = static_cast<Reading*>(buffer.device_ptr());
  manager.gather(tokens, array, stream).value();
  const char* where = limen::demo::where_kernels_run();
  if (limen::demo::scale_array(array, n, 0.5F, stream) != 0) return EXIT_FAILURE;
  manager.scatter(array, tokens, stream).value();
  pool.release(std::move(buffer), stream);  // back to the pool once the scatter has read it

  bool ok = true;
  for (std::size_t i = 0; i < n; ++i) {
    const float got = manager.read(tokens[i]).value()->payload.values[3];  // waits for the batch
    ok = ok && got == 0.5F * static_cast<float>(i);
  }
  for (auto t : tokens) manager.free(t).value();
  const limen::ManagerStats s = manager.stats();
  const limen::PoolStats p = pool.stats();
  std::printf("staged %zu readings in one batch, scaled x0.5 on %s: %s\n", n, where,
              ok ? "every value right" : "WRONG VALUES");
  std::printf("  manager: %llu stores, h2d=%lluB d2h=%lluB, %llu host waits\n",
              static_cast<unsigned long long>(s.stores),
              static_cast<unsigned long long>(s.bytes_host_to_device),
              static_cast<unsigned long long>(s.bytes_device_to_host),
              static_cast<unsigned long long>(s.synchronizations));
  std::printf("  pinned pool: %llu chunk(s), %llu bytes reserved, %llu pending release(s)\n",
              static_cast<unsigned long long>(p.chunks),
              static_cast<unsigned long long>(p.bytes_reserved),
              static_cast<unsigned long long>(p.pending_releases));
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
