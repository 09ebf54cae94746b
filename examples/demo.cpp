// limen demo: messages through the host managers, printing what happened.
#include <limen/limen.hpp>

#include <array>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Reading {
  std::array<float, 4> values{};
};

void print_stats(const char* name, const limen::ManagerStats& s) {
  std::printf("  %-22s stores=%llu frees=%llu failed=%llu in_use=%llu peak=%llu\n", name,
              static_cast<unsigned long long>(s.stores), static_cast<unsigned long long>(s.frees),
              static_cast<unsigned long long>(s.failed_stores),
              static_cast<unsigned long long>(s.in_use),
              static_cast<unsigned long long>(s.peak_in_use));
}

template <class M>
void round_trip(const char* name, M& manager) {
  limen::MessageHeader header{};
  header.trace_id = 7;
  const auto token = manager.store(limen::Message<Reading>(header, Reading{{1, 2, 3, 4}})).value();
  manager.read_mut(token).value()->payload.values[0] = 10.0F;
  const float first = manager.read(token).value()->payload.values[0];
  const auto size = manager.peek_header(token).value()->payload_size_bytes;
  const auto stale = manager.free(token).has_value() ? manager.read(token).error()
                                                     : limen::MemoryError::Unsupported;
  std::printf("%s (%s): token #%u gen %u, payload %zu bytes, first value %.0f, read after free: %s\n",
              name, manager.memory_class().to_string().c_str(), token.index(), token.generation(),
              size, static_cast<double>(first), std::string(limen::to_string(stale)).c_str());
  print_stats(name, manager.stats());
}

void concurrent_workers() {
  limen::ConcurrentManager<Reading> manager(64);
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w) {
    workers.emplace_back([handle = manager.scoped_handle(), w]() mutable {
      for (int i = 0; i < 10000; ++i) {
        const auto t = handle.store(limen::Message<Reading>(Reading{{float(w), float(i)}})).value();
        if (handle.read(t).value()->payload.values[1] != float(i)) std::abort();
        (void)handle.free(t);
      }
    });
  }
  for (auto& t : workers) t.join();
  std::printf("ConcurrentManager: 2 workers x 10000 store/read/free, available %zu of %zu\n",
              manager.available(), manager.capacity());
  print_stats("ConcurrentManager", manager.stats());
}

}  // namespace

int main() {
  std::printf("limen demo: typed message slots\n\n");
  limen::StaticManager<Reading, 4> fixed;
  round_trip("StaticManager<4>", fixed);
  limen::HeapManager<Reading> heap(16);
  round_trip("HeapManager(16)", heap);
  concurrent_workers();
  return 0;
}
