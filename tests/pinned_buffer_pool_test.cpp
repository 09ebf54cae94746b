// SPDX-License-Identifier: Apache-2.0
// PinnedBufferPool: reuse without new chunks once warm, size-class edges, the
// byte limit, trim, std::pmr containers, stream-ordered release with events
// held in flight, injected faults, four threads at once, moves.
#include "device_work.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory_resource>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace limen {
namespace {

using fault_injection::FaultKind;

constexpr std::size_t kChunk = 64 * 1024;

PoolConfig small_chunks(std::size_t max_bytes = 0) {
  PoolConfig c;
  c.chunk_bytes = kChunk;
  c.max_bytes = max_bytes;
  c.name = "pool-test";
  return c;
}

class Pool : public ::testing::Test {
 protected:
  void SetUp() override { fault_injection::reset(); }
  void TearDown() override { fault_injection::reset(); }
  test::TestStream stream_;
  [[nodiscard]] StreamHandle some_stream() const { return stream_.handle(); }
};

TEST_F(Pool, AWarmPoolAllocatesWithoutNewChunks) {
  PinnedBufferPool pool(small_chunks());
  for (std::size_t bytes : {64, 1000, 4096, 20000}) pool.allocate(bytes).value().reset();
  const PoolStats warm = pool.stats();
  for (int round = 0; round < 1000; ++round) {
    for (std::size_t bytes : {64, 1000, 4096, 20000}) {
      auto buffer = pool.allocate(bytes).value();
      std::memset(buffer.data(), round & 0xFF, buffer.size());  // the memory is really there
    }
  }
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.chunks, warm.chunks) << "a warm pool asked the driver for memory";
  EXPECT_EQ(s.misses, warm.misses);
  EXPECT_EQ(s.hits, warm.hits + 4000);
  EXPECT_EQ(s.bytes_in_use, 0U);
}

TEST_F(Pool, SizeClassEdges) {
  PinnedBufferPool pool(small_chunks());
  auto empty = pool.allocate(0).value();
  EXPECT_NE(empty.data(), nullptr);
  EXPECT_EQ(empty.size(), 0U);
  {
    auto exact = pool.allocate(4096).value();
    auto over = pool.allocate(4097).value();
    EXPECT_EQ(exact.size(), 4096U);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(exact.data()) % 4096, 0U);
    EXPECT_EQ(over.size(), 4097U);
    // Buffers are aligned to their size class, but at most to a page.
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(over.data()) % 4096, 0U);
    EXPECT_GE(pool.stats().bytes_in_use, 4096U + 8192U);  // 4097 B takes the 8 KiB class
  }
  const auto chunks = pool.stats().chunks;
  void* first = nullptr;
  {
    auto big = pool.allocate(3 * kChunk + 1).value();  // larger than a chunk: one of its own
    first = big.data();
    EXPECT_EQ(pool.stats().chunks, chunks + 1);
    EXPECT_GE(pool.stats().bytes_in_use, 3 * kChunk + 1);
  }
  auto again = pool.allocate(3 * kChunk).value();  // reuses the large chunk
  EXPECT_EQ(again.data(), first);
  EXPECT_EQ(pool.stats().chunks, chunks + 1);
}

TEST_F(Pool, TheByteLimitIsAClearErrorAndTrimGivesChunksBack) {
  PinnedBufferPool pool(small_chunks(2 * kChunk));
  auto a = pool.allocate(kChunk).value();
  auto b = pool.allocate(kChunk).value();
  auto refused = pool.allocate(100);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), MemoryError::NoFreeSlots);
  a.reset();
  // The empty chunk of another class is given back to make room.
  EXPECT_TRUE(pool.allocate(100).has_value());
  b.reset();
  EXPECT_GT(pool.trim(), 0U);
  EXPECT_EQ(pool.stats().chunks, 0U);
  EXPECT_EQ(pool.stats().bytes_reserved, 0U);
}

// Sizes near SIZE_MAX must never wrap: no page count holds them (Unsupported),
// a byte limit refuses them (NoFreeSlots), and nothing is handed out.
TEST_F(Pool, ImpossibleSizesAreClearErrorsNeverWrappedBuffers) {
  PinnedBufferPool pool(small_chunks());
  constexpr std::size_t kMax = ~std::size_t{0};
  for (std::size_t bytes : {kMax, kMax - 1, kMax - 4094, kMax - 4095 + 1}) {
    auto refused = pool.allocate(bytes);
    ASSERT_FALSE(refused.has_value()) << bytes;
    EXPECT_EQ(refused.error(), MemoryError::Unsupported) << bytes;
  }
  EXPECT_EQ(pool.stats().chunks, 0U);
  // (Sizes read at run time: compilers rightly refuse such constants at an allocation call.)
  volatile std::size_t huge = kMax;
  EXPECT_THROW((void)pool.resource()->allocate(huge), std::bad_alloc);
  huge = kMax - 4094;
  EXPECT_THROW((void)pool.resource()->allocate(huge), std::bad_alloc);
  PinnedBufferPool limited(small_chunks(/*max_bytes=*/1 << 20));
  for (std::size_t bytes : {kMax - 4095, kMax / 2, std::size_t{2} << 20}) {
    auto refused = limited.allocate(bytes);
    ASSERT_FALSE(refused.has_value()) << bytes;
    EXPECT_EQ(refused.error(), MemoryError::NoFreeSlots) << bytes;
  }
  EXPECT_EQ(limited.stats().bytes_reserved, 0U);
  EXPECT_TRUE(limited.allocate(1000).has_value());  // and the pool still works
}

TEST_F(Pool, AHugeChunkSizeIsAClearErrorAtConstruction) {
  PoolConfig c = small_chunks();
  c.chunk_bytes = (std::size_t{1} << 63) + 1;
  auto refused = PinnedBufferPool::create(c);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), MemoryError::Unsupported);
  c.chunk_bytes = ~std::size_t{0};
  EXPECT_THROW(PinnedBufferPool{c}, MemoryErrorException);
}

TEST_F(Pool, PmrContainersLiveInPinnedMemory) {
  PinnedBufferPool pool(small_chunks());
  {
    std::pmr::vector<float> values(pool.resource());
    for (int i = 0; i < 10000; ++i) values.push_back(static_cast<float>(i));
    EXPECT_EQ(values[9999], 9999.0F);
    EXPECT_GE(pool.stats().bytes_in_use, 10000 * sizeof(float));
    std::pmr::vector<double> aligned(pool.resource());
    aligned.resize(3);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned.data()) % alignof(double), 0U);
  }
  EXPECT_EQ(pool.stats().bytes_in_use, 0U);
  EXPECT_TRUE(pool.resource()->is_equal(*pool.resource()));
  PinnedBufferPool other(small_chunks());
  EXPECT_FALSE(pool.resource()->is_equal(*other.resource()));
}

TEST_F(Pool, AStreamOrderedReleaseWaitsForItsWork) {
  PinnedBufferPool pool(small_chunks());
  auto buffer = pool.allocate(256).value();
  std::byte* address = buffer.data();
  fault_injection::hold_events(true);  // the copy that reads the buffer is still running
  pool.release(std::move(buffer), some_stream());
  EXPECT_FALSE(buffer);
  EXPECT_EQ(pool.stats().pending_releases, 1U);
  EXPECT_EQ(pool.stats().bytes_in_use, 256U);
  std::set<std::byte*> handed_out;
  std::vector<PinnedBuffer> live;
  for (int i = 0; i < 300; ++i) {  // more than a chunk's worth: the held block never comes back
    live.push_back(pool.allocate(256).value());
    handed_out.insert(live.back().data());
  }
  EXPECT_EQ(handed_out.count(address), 0U) << "a buffer came back before its copy finished";
  live.clear();
  fault_injection::release_events();
  EXPECT_EQ(pool.stats().pending_releases, 0U);
  EXPECT_EQ(pool.stats().bytes_in_use, 0U);
}

TEST_F(Pool, InjectedFaultsLeakNothing) {
  PinnedBufferPool pool(small_chunks());
  fault_injection::inject_faults(FaultKind::Allocation, 1);
  auto refused = pool.allocate(100);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), MemoryError::DeviceError);
  ASSERT_TRUE(pool.last_device_error().has_value());
  EXPECT_EQ(pool.stats().chunks, 0U);
  // A failed event record falls back to waiting for the stream: returned at once.
  auto buffer = pool.allocate(100).value();
  fault_injection::inject_faults(FaultKind::EventRecord, 1);
  pool.release(std::move(buffer), some_stream());
  EXPECT_EQ(pool.stats().pending_releases, 0U);
  EXPECT_EQ(pool.stats().bytes_in_use, 0U);
  // A failed query keeps a release pending; the next one collects it.
  fault_injection::hold_events(true);
  pool.release(pool.allocate(100).value(), some_stream());
  fault_injection::release_events();
  fault_injection::inject_faults(FaultKind::EventQuery, 1);
  EXPECT_EQ(pool.stats().pending_releases, 1U);
  EXPECT_EQ(pool.stats().pending_releases, 0U);
}

// A release whose event cannot be recorded waits for the stream instead: the
// buffer must not come back while work queued before the release still runs.
TEST_F(Pool, AReleaseThatCannotRecordWaitsForTheStream) {
  PinnedBufferPool pool(small_chunks());
  auto buffer = pool.allocate(256).value();
  test::Gate gate(some_stream());  // a copy that reads the buffer is still running
  std::atomic<bool> opened{false};
  std::thread kernel_ends([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    opened.store(true);
    gate.open();
  });
  fault_injection::inject_faults(FaultKind::EventRecord, 1);
  pool.release(std::move(buffer), some_stream());
  EXPECT_TRUE(opened.load()) << "the buffer came back before the stream's work was done";
  kernel_ends.join();
  EXPECT_EQ(pool.stats().bytes_in_use, 0U);
}

// Destroying a pool waits for the work still using buffers released stream-ordered.
TEST_F(Pool, DestructionWaitsForReleasedBuffersWork) {
  auto pool = std::make_unique<PinnedBufferPool>(small_chunks());
  auto buffer = pool->allocate(256).value();
  test::Gate gate(some_stream());
  auto* bytes = static_cast<std::uint8_t*>(buffer.device_ptr());
  test::write(some_stream(), bytes, std::uint8_t{7});  // device work writing into the buffer
  pool->release(std::move(buffer), some_stream());
  std::atomic<bool> opened{false};
  std::thread kernel_ends([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    opened.store(true);
    gate.open();
  });
  pool.reset();  // must not free the chunk under the write
  EXPECT_TRUE(opened.load()) << "the pool was destroyed under a running copy";
  kernel_ends.join();
}

// A graph captured on the stream reads the buffer at every launch, whenever
// that is: the buffer never comes back while the pool lives.
TEST_F(Pool, AReleaseOnACapturingStreamKeepsTheBufferForTheGraph) {
  PinnedBufferPool pool(small_chunks());
  auto buffer = pool.allocate(256).value();
  std::byte* address = buffer.data();
  fault_injection::simulate_capture(true);
  pool.release(std::move(buffer), some_stream());
  fault_injection::simulate_capture(false);
  PoolStats s = pool.stats();
  EXPECT_EQ(s.quarantined_bytes, 256U);
  EXPECT_EQ(s.bytes_in_use, 256U);
  EXPECT_EQ(s.pending_releases, 0U);
  std::vector<PinnedBuffer> live;
  for (int i = 0; i < 300; ++i) {
    live.push_back(pool.allocate(256).value());
    EXPECT_NE(live.back().data(), address) << "a captured graph's buffer was handed out again";
  }
  live.clear();
  (void)pool.trim();
  EXPECT_EQ(pool.stats().quarantined_bytes, 256U) << "trim() gave a graph's buffer back";
}

// Neither an event nor a wait: the buffer's state is unknown until trim()
// waits for the whole device; the failure is reported.
TEST_F(Pool, AReleaseThatCannotBeOrderedIsQuarantinedUntilTrim) {
  PinnedBufferPool pool(small_chunks());
  auto buffer = pool.allocate(256).value();
  fault_injection::inject_faults(FaultKind::EventRecord, 2);  // the release's, the spare's
  pool.release(std::move(buffer), some_stream());
  EXPECT_EQ(pool.stats().quarantined_bytes, 256U);
  ASSERT_TRUE(pool.last_device_error().has_value());
  EXPECT_NE(pool.last_device_error()->call.find("cudaEventRecord"), std::string::npos);
  EXPECT_EQ(pool.stats().bytes_in_use, 256U);
  (void)pool.trim();
  EXPECT_EQ(pool.stats().quarantined_bytes, 0U);
  EXPECT_EQ(pool.stats().bytes_in_use, 0U);
}

TEST_F(Pool, FourThreadsAllocateAndReleaseAtOnce) {
  PinnedBufferPool pool(small_chunks());
  std::atomic<int> corrupted{0};
  auto worker = [&](unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<PinnedBuffer> mine;
    for (int i = 0; i < 5000; ++i) {
      if (mine.size() < 16 && (rng() % 3 != 0 || mine.empty())) {
        auto buffer = pool.allocate(1 + rng() % 9000).value();
        std::memset(buffer.data(), static_cast<int>(seed), buffer.size());
        mine.push_back(std::move(buffer));
      } else {
        const std::size_t at = rng() % mine.size();
        for (std::byte b : mine[at].span()) {
          if (b != static_cast<std::byte>(seed)) corrupted.fetch_add(1);
        }
        mine.erase(mine.begin() + static_cast<long>(at));
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 1; t <= 4; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  EXPECT_EQ(corrupted.load(), 0) << "two threads were handed the same memory";
  EXPECT_EQ(pool.stats().bytes_in_use, 0U);
}

// Four threads share one pool, each with its own stream, releasing immediately
// and stream-ordered while a fifth injects every kind of fault (allocation,
// event record with its substitute wait, event query, synchronisation). No
// buffer is ever shared or reused before its work ran, failures are the
// documented ones, and once every buffer is back, the streams idle and the pool
// trimmed, every counter is exactly zero.
TEST_F(Pool, FourThreadsUnderInjectedFaultsLeaveTheAccountingAtZero) {
  PinnedBufferPool pool(small_chunks(std::size_t{2} << 20));
  std::atomic<int> corrupted{0};
  std::atomic<int> undocumented{0};
  std::atomic<bool> stop{false};
  auto worker = [&](unsigned seed) {
    test::TestStream stream;
    std::mt19937 rng(seed);
    std::vector<PinnedBuffer> mine;
    for (int i = 0; i < 3000; ++i) {
      if (mine.size() < 12 && (rng() % 3 != 0 || mine.empty())) {
        auto buffer = pool.allocate(1 + rng() % 20000);
        if (!buffer) {
          const MemoryError e = buffer.error();
          if (e != MemoryError::DeviceError && e != MemoryError::NoFreeSlots) {
            undocumented.fetch_add(1);
          }
          continue;
        }
        std::memset(buffer->data(), static_cast<int>(seed), buffer->size());
        mine.push_back(std::move(*buffer));
        continue;
      }
      const std::size_t at = rng() % mine.size();
      PinnedBuffer& b = mine[at];
      for (std::byte byte : b.span()) {
        if (byte != static_cast<std::byte>(seed)) corrupted.fetch_add(1);
      }
      if (rng() % 2 == 0) {
        const std::byte* data = b.data();
        const std::size_t n = b.size();
        // "A kernel" still reads the buffer: it must not be handed out before this runs.
        (void)cpu_device::launch_host_task(stream, [data, n, seed, &corrupted] {
          for (std::size_t k = 0; k < n; ++k) {
            if (data[k] != static_cast<std::byte>(seed)) {
              corrupted.fetch_add(1);
              break;
            }
          }
        });
        pool.release(std::move(b), stream);
      }
      mine.erase(mine.begin() + static_cast<long>(at));
    }
    mine.clear();
    (void)cpu_device::synchronize(stream);
  };
  std::thread injector([&] {
    std::mt19937 rng(99);
    const FaultKind kinds[] = {FaultKind::Allocation, FaultKind::EventRecord, FaultKind::EventQuery,
                               FaultKind::Synchronize};
    while (!stop.load()) {
      fault_injection::inject_faults(kinds[rng() % 4], 1 + rng() % 2);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::vector<std::thread> threads;
  for (unsigned t = 1; t <= 4; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  stop.store(true);
  injector.join();
  fault_injection::clear_faults();
  ASSERT_TRUE(cpu_device::synchronize_device().has_value());  // every "kernel" has run
  EXPECT_EQ(corrupted.load(), 0) << "a buffer was shared, or reused before its work ran";
  EXPECT_EQ(undocumented.load(), 0) << "an allocation failed with an undocumented error";
  (void)pool.trim();  // brings back buffers quarantined by faults (a device-wide wait)
  const PoolStats s = pool.stats();
  EXPECT_EQ(s.pending_releases, 0U);
  EXPECT_EQ(s.quarantined_bytes, 0U);
  EXPECT_EQ(s.bytes_in_use, 0U);
  EXPECT_EQ(s.bytes_reserved, 0U);
  EXPECT_EQ(s.chunks, 0U);
  EXPECT_LE(s.peak_bytes_in_use, std::uint64_t{2} << 20);
}

TEST_F(Pool, AMovedFromPoolIsEmpty) {
  PinnedBufferPool pool(small_chunks());
  auto buffer = pool.allocate(64).value();
  PinnedBufferPool moved = std::move(pool);
  auto refused = pool.allocate(64);  // NOLINT(bugprone-use-after-move): checking the moved-from
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), MemoryError::Unsupported);
  EXPECT_EQ(pool.stats(), PoolStats{});
  buffer.reset();  // goes back to the pool that now owns the state
  EXPECT_EQ(moved.stats().bytes_in_use, 0U);
}

TEST_F(Pool, FallbackFailIsUnsupportedWithoutAGpu) {
  if (!runtime_info().fallback_active) GTEST_SKIP() << "a CUDA device is present";
  PoolConfig c = small_chunks();
  c.fallback = Fallback::Fail;
  auto made = PinnedBufferPool::create(c);
  ASSERT_FALSE(made.has_value());
  EXPECT_EQ(made.error(), MemoryError::Unsupported);
  EXPECT_TRUE(PinnedBufferPool(small_chunks()).emulated());
}

}  // namespace
}  // namespace limen
