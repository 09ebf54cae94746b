// SPDX-License-Identifier: Apache-2.0
// ConcurrentManager round trips (store + read + free) against a mutex-wrapped
// HeapManager and against new/delete, at 1 and 2 threads, 64 B and 4 KiB payloads.
// Each thread works on its own tokens ("disjoint tokens").
//
// Also against what a user would pick for a thread-safe fixed-size pool:
// mimalloc (mi_malloc/mi_free from every thread) and a lock-free index pool
// (an array of messages around a boost::lockfree::stack of free slot
// indices), where installed. And producer->consumer (pipe_*): thread A stores
// (or allocates and copies) and pushes the handle into a single-producer
// single-consumer ring (bench/spsc_ring.hpp), thread B pops it, reads the
// message, checks its sequence number and frees it; limen through one scoped
// handle per thread, so the slots A takes come back to B's shard. The
// 1-thread run of a pipe does both sides in turn on one thread, through the
// same ring: "2 threads / 1 thread" is what splitting the work gains.
#include "mimalloc_local.hpp"
#include "ratio_reporter.hpp"
#include "spsc_ring.hpp"

#include <limen/limen.hpp>

#include <benchmark/benchmark.h>

#if defined(LIMEN_BENCH_BOOST)
#include <boost/lockfree/stack.hpp>
#endif

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <vector>

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

/// Store, read and free through @p m (a handle or the manager) until the state stops.
template <class P, class M>
void concurrent_round_trips(benchmark::State& state, M& m) {
  std::int64_t i = 0;
  for (auto _ : state) {
    const auto token = m.store(make_message<P>(++i)).value();
    {
      auto guard = m.read(token).value();
      benchmark::DoNotOptimize(guard->payload.bytes[0]);
    }
    (void)m.free(token);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class P>
void BM_Concurrent(benchmark::State& state) {
  auto handle = concurrent<P>->scoped_handle();
  concurrent_round_trips<P>(state, handle);
}

// --- the same, every thread calling the manager itself (no handle, no cache) ---
template <class P>
void BM_ConcurrentDirect(benchmark::State& state) {
  concurrent_round_trips<P>(state, *concurrent<P>);
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

// --- mimalloc from every thread, each thread freeing what it allocated ----------
#if defined(LIMEN_BENCH_MIMALLOC)
template <class P>
void BM_Mimalloc(benchmark::State& state) {
  const auto* mi = limen::bench::Mimalloc::get();
  if (mi == nullptr) {
    state.SkipWithError("mimalloc could not be loaded");
    return;
  }
  std::int64_t i = 0;
  for (auto _ : state) {
    void* raw = mi->malloc(sizeof(limen::Message<P>));
    if (raw == nullptr) std::abort();
    auto* m = ::new (raw) limen::Message<P>(make_message<P>(++i));
    benchmark::DoNotOptimize(m->payload.bytes[0]);
    m->~Message();
    mi->free(m);
  }
  state.SetItemsProcessed(state.iterations());
}
#endif

// --- A lock-free index pool --------------------------------------------------
#if defined(LIMEN_BENCH_BOOST)
/// What a user builds for a thread-safe fixed-size pool: an array of messages
/// and a lock-free stack of the free slot indices (fixed capacity, no
/// allocation after construction). No read guards, no stale-index checks: the
/// index is trusted.
template <class P>
class IndexPool {
 public:
  IndexPool() : slots_(kCapacity) {
    for (std::uint32_t i = 0; i < kCapacity; ++i) {
      if (!free_.bounded_push(i)) std::abort();
    }
  }
  /// The slot the message went to; aborts when none is free.
  std::uint32_t store(limen::Message<P>&& message) {
    std::uint32_t i = 0;
    if (!free_.pop(i)) std::abort();
    slots_[i] = std::move(message);
    return i;
  }
  [[nodiscard]] const limen::Message<P>& read(std::uint32_t i) const { return slots_[i]; }
  void free(std::uint32_t i) {
    if (!free_.bounded_push(i)) std::abort();
  }

 private:
  std::vector<limen::Message<P>> slots_;
  boost::lockfree::stack<std::uint32_t, boost::lockfree::capacity<kCapacity>> free_;
};
template <class P>
std::optional<IndexPool<P>> index_pool;

template <class P>
void BM_IndexPool(benchmark::State& state) {
  auto& pool = *index_pool<P>;
  std::int64_t i = 0;
  for (auto _ : state) {
    const std::uint32_t slot = pool.store(make_message<P>(++i));
    benchmark::DoNotOptimize(pool.read(slot).payload.bytes[0]);
    pool.free(slot);
  }
  state.SetItemsProcessed(state.iterations());
}
#endif

// --- Producer -> consumer --------------------------------------------------------
constexpr std::size_t kRing = 256;  // well below kCapacity: a store never finds the pool full
template <class T>
using Ring = limen::bench::SpscRing<T, kRing>;

template <class P>
struct Pipes {
  Ring<limen::MessageToken> tokens;
  Ring<limen::Message<P>*> pointers;
  Ring<std::uint32_t> indices;
  Ring<std::uint64_t> numbers;
};
template <class P>
std::optional<Pipes<P>> pipes;

/// Thread 0 produces and thread 1 consumes; a single thread does both in turn.
struct Roles {
  explicit Roles(const benchmark::State& state)
      : produce(state.thread_index() == 0),
        consume(state.threads() == 1 || state.thread_index() == 1) {}
  bool produce;
  bool consume;
};

template <class T>
void push(Ring<T>& ring, const T& item) {
  limen::bench::wait_until([&] { return ring.try_push(item); });
}
template <class T>
T pop(Ring<T>& ring) {
  T item{};
  limen::bench::wait_until([&] { return ring.try_pop(item); });
  return item;
}

/// Both threads run the same number of iterations, so every message produced is consumed.
template <class P>
void BM_PipeConcurrent(benchmark::State& state) {
  auto handle = concurrent<P>->scoped_handle();
  auto& ring = pipes<P>->tokens;
  const Roles role(state);
  std::int64_t sent = 0;
  std::uint64_t received = 0;
  for (auto _ : state) {
    if (role.produce) {
      const auto stored = handle.store(make_message<P>(++sent));
      if (!stored) std::abort();
      push(ring, *stored);
    }
    if (role.consume) {
      const limen::MessageToken token = pop(ring);
      {
        const auto guard = handle.read(token);
        if (!guard) std::abort();
        if ((*guard)->header.sequence != ++received) std::abort();
        benchmark::DoNotOptimize((*guard)->payload.bytes[0]);
      }
      if (!handle.free(token)) std::abort();
    }
  }
  if (role.consume) state.SetItemsProcessed(state.iterations());
}

/// The ring alone, carrying a number and no message: what handing anything from one
/// core to the other costs here, the floor of every pipe.
template <class P>
void BM_PipeRing(benchmark::State& state) {
  auto& ring = pipes<P>->numbers;
  const Roles role(state);
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  for (auto _ : state) {
    if (role.produce) push(ring, ++sent);
    if (role.consume && pop(ring) != ++received) std::abort();
  }
  if (role.consume) state.SetItemsProcessed(state.iterations());
}

/// Thread A allocates and copies the message in, thread B reads it and frees it.
template <class P, class Alloc, class Release>
void pipe_allocator(benchmark::State& state, Alloc alloc, Release release) {
  auto& ring = pipes<P>->pointers;
  const Roles role(state);
  std::int64_t sent = 0;
  std::uint64_t received = 0;
  for (auto _ : state) {
    if (role.produce) {
      void* raw = alloc(sizeof(limen::Message<P>));
      if (raw == nullptr) std::abort();
      push(ring, ::new (raw) limen::Message<P>(make_message<P>(++sent)));
    }
    if (role.consume) {
      limen::Message<P>* m = pop(ring);
      if (m->header.sequence != ++received) std::abort();
      benchmark::DoNotOptimize(m->payload.bytes[0]);
      m->~Message();
      release(m);
    }
  }
  if (role.consume) state.SetItemsProcessed(state.iterations());
}

template <class P>
void BM_PipeNewDelete(benchmark::State& state) {
  pipe_allocator<P>(
      state, [](std::size_t n) { return ::operator new(n); },
      [](void* p) { ::operator delete(p); });
}

#if defined(LIMEN_BENCH_MIMALLOC)
template <class P>
void BM_PipeMimalloc(benchmark::State& state) {
  const auto* mi = limen::bench::Mimalloc::get();
  if (mi == nullptr) {
    state.SkipWithError("mimalloc could not be loaded");
    return;
  }
  pipe_allocator<P>(
      state, [mi](std::size_t n) { return mi->malloc(n); }, [mi](void* p) { mi->free(p); });
}
#endif

#if defined(LIMEN_BENCH_BOOST)
template <class P>
void BM_PipeIndexPool(benchmark::State& state) {
  auto& pool = *index_pool<P>;
  auto& ring = pipes<P>->indices;
  const Roles role(state);
  std::int64_t sent = 0;
  std::uint64_t received = 0;
  for (auto _ : state) {
    if (role.produce) push(ring, pool.store(make_message<P>(++sent)));
    if (role.consume) {
      const std::uint32_t slot = pop(ring);
      const limen::Message<P>& m = pool.read(slot);
      if (m.header.sequence != ++received) std::abort();
      benchmark::DoNotOptimize(m.payload.bytes[0]);
      pool.free(slot);
    }
  }
  if (role.consume) state.SetItemsProcessed(state.iterations());
}
#endif

template <class P>
void setup(const benchmark::State&) {
  concurrent<P>.emplace(kCapacity);
  locked<P>.emplace();
  pipes<P>.emplace();
#if defined(LIMEN_BENCH_BOOST)
  index_pool<P>.emplace();
#endif
}
template <class P>
void teardown(const benchmark::State&) {
  concurrent<P>.reset();
  locked<P>.reset();
  pipes<P>.reset();
#if defined(LIMEN_BENCH_BOOST)
  index_pool<P>.reset();
#endif
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
  add("concurrent_direct", BM_ConcurrentDirect<P>);
  add("mutex_heap", BM_MutexHeap<P>);
  add("new_delete", BM_NewDelete<P>);
#if defined(LIMEN_BENCH_MIMALLOC)
  add("mimalloc", BM_Mimalloc<P>);
#endif
#if defined(LIMEN_BENCH_BOOST)
  add("index_pool", BM_IndexPool<P>);
#endif
  if (size == "64B") add("pipe_ring", BM_PipeRing<P>);  // no message: once is enough
  add("pipe_concurrent", BM_PipeConcurrent<P>);
  add("pipe_new_delete", BM_PipeNewDelete<P>);
#if defined(LIMEN_BENCH_MIMALLOC)
  add("pipe_mimalloc", BM_PipeMimalloc<P>);
#endif
#if defined(LIMEN_BENCH_BOOST)
  add("pipe_index_pool", BM_PipeIndexPool<P>);
#endif
}

std::vector<limen::bench::RatioReporter::Ratio> ratios() {
  std::vector<limen::bench::RatioReporter::Ratio> out;
  for (const std::string size : {"64B", "4KiB"}) {
    const std::string c = "concurrent/" + size + "/min_time:0.300/real_time/threads:";
    const std::string m = "mutex_heap/" + size + "/min_time:0.300/real_time/threads:";
    const std::string n = "new_delete/" + size + "/min_time:0.300/real_time/threads:";
    out.push_back({"concurrent " + size + ": 2 threads / 1 thread", c + "2", c + "1"});
    const std::string d = "concurrent_direct/" + size + "/min_time:0.300/real_time/threads:";
    out.push_back({"concurrent_direct " + size + ": 2 threads / 1 thread", d + "2", d + "1"});
    out.push_back({"concurrent handle / direct, " + size + ", 1 thread", c + "1", d + "1"});
    out.push_back({"mutex_heap " + size + ": 2 threads / 1 thread", m + "2", m + "1"});
    out.push_back({"concurrent / mutex_heap, " + size + ", 2 threads", c + "2", m + "2"});
    out.push_back({"concurrent / mutex_heap, " + size + ", 1 thread", c + "1", m + "1"});
    out.push_back({"concurrent / new_delete, " + size + ", 2 threads", c + "2", n + "2"});

    // Thread-safe pools a user would pick instead, each thread on its own messages.
    const auto run = [&](const std::string& name, const char* threads) {
      return name + "/" + size + "/min_time:0.300/real_time/threads:" + threads;
    };
    out.push_back({"concurrent / mimalloc, " + size + ", 1 thread", c + "1", run("mimalloc", "1")});
    out.push_back(
        {"concurrent / mimalloc, " + size + ", 2 threads", c + "2", run("mimalloc", "2")});
    out.push_back(
        {"concurrent / index_pool, " + size + ", 1 thread", c + "1", run("index_pool", "1")});
    out.push_back(
        {"concurrent / index_pool, " + size + ", 2 threads", c + "2", run("index_pool", "2")});
    out.push_back({"mimalloc " + size + ": 2 threads / 1 thread", run("mimalloc", "2"),
                   run("mimalloc", "1")});
    out.push_back({"index_pool " + size + ": 2 threads / 1 thread", run("index_pool", "2"),
                   run("index_pool", "1")});

    // Producer -> consumer.
    const std::string pc = "pipe_concurrent";
    for (const char* peer : {"pipe_mimalloc", "pipe_index_pool", "pipe_new_delete"}) {
      out.push_back(
          {pc + " / " + peer + ", " + size + ", 2 threads", run(pc, "2"), run(peer, "2")});
    }
    out.push_back(
        {pc + " / pipe_mimalloc, " + size + ", 1 thread", run(pc, "1"), run("pipe_mimalloc", "1")});
    out.push_back({"pipe_ring (no message) / " + pc + ", " + size + ", 2 threads",
                   "pipe_ring/64B/min_time:0.300/real_time/threads:2", run(pc, "2")});
    for (const char* pipe : {"pipe_concurrent", "pipe_mimalloc", "pipe_index_pool"}) {
      out.push_back({std::string(pipe) + " " + size + ": 2 threads / 1 thread", run(pipe, "2"),
                     run(pipe, "1")});
    }
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
