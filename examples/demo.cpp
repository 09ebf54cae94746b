// SPDX-License-Identifier: Apache-2.0
// limen demo: one message through every memory class, saying which backend
// really ran (GPU, or the CPU device as the fallback) and what it cost, then two workers sharing
// a ConcurrentManager.
#include "demo_kernels.hpp"

#include <limen/limen.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using limen::demo::Reading;

std::string backend_of(const limen::AnyManager<Reading>& m) {
  if (m.memory_class().kind() == limen::MemoryKind::Host) return "host memory";
  if (m.emulated()) return "CPU device (fallback)";
  const auto& info = limen::runtime_info();
  const auto ordinal = static_cast<std::size_t>(m.memory_class().device_ordinal());
  return "GPU (" + info.devices.at(ordinal < info.devices.size() ? ordinal : 0).name + ")";
}

void print_stats(const limen::ManagerStats& s) {
  std::printf(
      "    stats: stores=%llu frees=%llu in_use=%llu peak=%llu h2d=%lluB d2h=%lluB syncs=%llu\n",
      static_cast<unsigned long long>(s.stores), static_cast<unsigned long long>(s.frees),
      static_cast<unsigned long long>(s.in_use), static_cast<unsigned long long>(s.peak_in_use),
      static_cast<unsigned long long>(s.bytes_host_to_device),
      static_cast<unsigned long long>(s.bytes_device_to_host),
      static_cast<unsigned long long>(s.synchronizations));
}

/// Store, change through a write guard, read back, peek, free: in one memory class.
bool round_trip(limen::MemoryClass memory_class) {
  limen::ManagerConfig config;
  config.capacity = 16;
  config.name = "demo-" + memory_class.to_string();
  auto made = limen::make_manager<Reading>(memory_class, config);
  if (!made) {
    std::printf("%-12s unavailable: %s\n", memory_class.to_string().c_str(),
                std::string(limen::to_string(made.error())).c_str());
    return false;
  }
  auto& m = *made;
  limen::MessageHeader header{};
  header.trace_id = 7;
  const auto token = m.store(limen::Message<Reading>(header, Reading{{1, 2, 3, 4}})).value();
  m.read_mut(token).value()->payload.values[0] = 10.0F;
  const float first = m.read(token).value()->payload.values[0];
  const auto size = m.peek_header(token).value()->payload_size_bytes;
  (void)m.free(token).value();
  const auto after_free = m.read(token).error();
  std::printf(
      "%-12s on %-28s token #%u gen %u, %zu payload bytes, value %.0f -> %.0f, "
      "read after free: %s\n",
      memory_class.to_string().c_str(), backend_of(m).c_str(), token.index(), token.generation(),
      size, 1.0, static_cast<double>(first), std::string(limen::to_string(after_free)).c_str());
  print_stats(m.stats());
  return first == 10.0F;
}

bool concurrent_workers() {
  limen::ConcurrentManager<Reading> manager(64);
  std::vector<std::thread> workers;
  std::array<bool, 2> ok{true, true};
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([handle = manager.scoped_handle(), w, &ok]() mutable {
      for (int i = 0; i < 10000; ++i) {
        const Reading r{{static_cast<float>(w), static_cast<float>(i)}};
        const auto t = handle.store(limen::Message<Reading>(r)).value();
        if (handle.read(t).value()->payload.values[1] != static_cast<float>(i)) ok[w] = false;
        (void)handle.free(t);
      }
    });
  }
  for (auto& t : workers) t.join();
  std::printf("ConcurrentManager: 2 workers x 10000 store/read/free, %zu of %zu slots free\n",
              manager.available(), manager.capacity());
  print_stats(manager.stats());
  return ok[0] && ok[1] && manager.available() == manager.capacity();
}

/// A kernel (or, on the CPU device, the same code as a host task on the stream)
/// transforms payloads by token; the host reads the results without
/// synchronizing by hand.
bool transform_by_token() {
  limen::ManagerConfig config;
  config.capacity = 8;
  config.name = "demo-transform";
  limen::DeviceManager<Reading> m(config);
  std::vector<limen::MessageToken> tokens;
  limen::demo::TokenBatch batch;
  for (int i = 1; i <= 4; ++i) {
    const float v = static_cast<float>(i);
    tokens.push_back(m.store(limen::Message<Reading>(Reading{{v, v, v, v}})).value());
    batch.index[batch.count++] = tokens.back().index();
  }
  const char* where = limen::demo::where_kernels_run();
  {
    std::vector<limen::DeviceLease<Reading>> leases;  // the slots belong to the stream's work
    for (const auto t : tokens) leases.push_back(m.lease(t).value());
    if (limen::demo::scale(m.device_view(), batch, 2.5F, m.stream()) != 0) return false;
  }  // leases end: each slot's event is recorded, the slots are in flight
  std::printf("transform by token on %s, x2.5:", where);
  bool ok = true;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const float got = m.read(tokens[i]).value()->payload.values[0];  // waits for the work
    std::printf(" %.1f", static_cast<double>(got));
    ok = ok && got == 2.5F * static_cast<float>(i + 1);
  }
  for (const auto t : tokens) ok = m.free(t).has_value() && ok;
  std::printf("\n");
  print_stats(m.stats());
  return ok;
}

}  // namespace

int main() {
  const auto& info = limen::runtime_info();
  std::printf("limen demo: typed message slots over every memory class\n");
  std::printf("CUDA compiled in: %s, devices: %d%s%s\n", info.cuda_compiled ? "yes" : "no",
              info.device_count, info.fallback_active ? ", CPU device (fallback) active: " : "",
              info.fallback_reason.c_str());
  if (info.fallback_active) std::printf("%s\n", limen::cpu_device::describe().c_str());
  std::printf("\n");
  bool ok = true;
  for (const auto& c : {limen::MemoryClass::host(), limen::MemoryClass::pinned_host(),
                        limen::MemoryClass::device(0), limen::MemoryClass::shared()}) {
    ok = round_trip(c) && ok;
  }
  std::printf("\n");
  ok = transform_by_token() && ok;
  std::printf("\n");
  ok = concurrent_workers() && ok;
  std::printf("\n%s\n", ok ? "demo: OK" : "demo: FAILED");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
