// SPDX-License-Identifier: Apache-2.0
// ConcurrentManager: the original's concurrent tests, a randomized stress test
// (run under TSan in CI) and misuse across threads.
#include "test_support.hpp"

#include <limen/concurrent_manager.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdint>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

namespace limen::test {
namespace {

using namespace std::chrono_literals;

static_assert(ScopedManager<ConcurrentManager<TestTensor>, TestTensor>);
static_assert(MemoryManager<ConcurrentHandle<TestTensor>, TestTensor>);

TEST(ConcurrentManager, BasicStoreReadFree) {
  ConcurrentManager<TestTensor> m(4);
  const MessageToken t = m.store(message(1)).value();
  EXPECT_EQ(m.available(), 3U);
  ASSERT_TRUE(m.free(t).has_value());
  EXPECT_EQ(m.available(), 4U);
}

TEST(ConcurrentManager, TwoThreadsReadOneSlotAtOnce) {
  ConcurrentManager<TestTensor> m(2);
  const MessageToken t = m.store(message(7)).value();
  std::barrier both_hold(2);
  std::atomic<int> seen{0};
  auto reader = [&] {
    auto guard = m.read(t).value();
    both_hold.arrive_and_wait();  // neither leaves until both hold a guard on t
    if (guard->payload == tensor(7)) seen.fetch_add(1);
  };
  std::thread a(reader);
  std::thread b(reader);
  a.join();
  b.join();
  EXPECT_EQ(seen.load(), 2);
}

TEST(ConcurrentManager, WriterExcludesReaderUntilItReleases) {
  ConcurrentManager<TestTensor> m(2);
  const MessageToken t = m.store(message(0)).value();
  std::barrier writer_holds(2);
  std::atomic<bool> released{false};
  std::thread writer([&] {
    auto guard = m.read_mut(t).value();
    guard->payload.data[0] = 42;
    writer_holds.arrive_and_wait();
    std::this_thread::sleep_for(50ms);
    released.store(true);
  });
  writer_holds.arrive_and_wait();
  LIMEN_EXPECT_ERROR(m.try_read(t), MemoryError::AlreadyBorrowed);
  auto guard = m.read(t).value();  // blocks until the writer's guard ends
  EXPECT_TRUE(released.load());
  EXPECT_EQ(guard->payload.data[0], 42U);
  guard.reset();
  writer.join();
}

TEST(ConcurrentManager, ReadMutWaitsForEveryReader) {
  ConcurrentManager<TestTensor> m(1);
  const MessageToken t = m.store(message(1)).value();
  auto reader = m.read(t).value();
  std::atomic<bool> wrote{false};
  std::thread writer([&] {
    m.read_mut(t).value()->payload.data[0] = 2;
    wrote.store(true);
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(wrote.load()) << "read_mut must wait while a read guard lives";
  reader.reset();
  writer.join();
  EXPECT_EQ(m.read(t).value()->payload.data[0], 2U);
}

TEST(ConcurrentManager, ExhaustionThenReuse) {
  ConcurrentManager<TestTensor> m(2);
  const MessageToken t0 = m.store(message(0)).value();
  (void)m.store(message(1)).value();
  EXPECT_EQ(m.available(), 0U);
  LIMEN_EXPECT_ERROR(m.store(message(2)), MemoryError::NoFreeSlots);
  ASSERT_TRUE(m.free(t0).has_value());
  EXPECT_EQ(m.available(), 1U);
  const MessageToken again = m.store(message(3)).value();
  EXPECT_EQ(again.index(), t0.index());
  LIMEN_EXPECT_ERROR(m.read(t0), MemoryError::StaleToken);
}

TEST(ConcurrentManager, HandlesShareStorageAndSlotsMoveBetweenThem) {
  ConcurrentManager<TestTensor> m(2);
  auto producer = m.scoped_handle();
  auto consumer = m.scoped_handle();
  const MessageToken a = producer.store(message(1)).value();
  const MessageToken b = producer.store(message(2)).value();
  LIMEN_EXPECT_ERROR(producer.store(message(3)), MemoryError::NoFreeSlots);
  EXPECT_EQ(consumer.read(b).value()->payload, tensor(2));
  ASSERT_TRUE(consumer.free(a).has_value());                  // goes to the consumer's shard...
  const MessageToken c = producer.store(message(4)).value();  // ...and the producer finds it
  EXPECT_EQ(c.index(), a.index());
  EXPECT_EQ(m.available(), 0U);
}

TEST(ConcurrentManager, HandlesKeepTheStorageAlive) {
  ConcurrentHandle<TestTensor> handle = [] {
    ConcurrentManager<TestTensor> m(1);
    return m.scoped_handle();
  }();
  const MessageToken t = handle.store(message(5)).value();
  EXPECT_EQ(handle.read(t).value()->payload, tensor(5));
}

TEST(ConcurrentManager, FreeFromAnotherThreadWhileAGuardLivesIsRefused) {
  ConcurrentManager<TestTensor> m(1);
  const MessageToken t = m.store(message(9)).value();
  auto guard = m.read(t).value();
  Result<void> freed;
  std::thread other([&] { freed = m.free(t); });  // free never waits
  other.join();
  LIMEN_EXPECT_ERROR(freed, MemoryError::BorrowActive);
  EXPECT_EQ(guard->payload, tensor(9));  // the guard's message is intact
  guard.reset();
  EXPECT_TRUE(m.free(t).has_value());
}

TEST(ConcurrentManager, AGuardsTokenIsDeadAfterFree) {
  ConcurrentManager<TestTensor> m(1);
  const MessageToken t = m.store(message(1)).value();
  { auto guard = m.read_mut(t).value(); }
  ASSERT_TRUE(m.free(t).has_value());
  LIMEN_EXPECT_ERROR(m.read(t), MemoryError::NotAllocated);
  LIMEN_EXPECT_ERROR(m.try_read_mut(t), MemoryError::NotAllocated);
  const MessageToken reused = m.store(message(2)).value();
  std::thread other([&] { LIMEN_EXPECT_ERROR(m.read(t), MemoryError::StaleToken); });
  other.join();
  EXPECT_EQ(m.read(reused).value()->payload, tensor(2));
}

// Several workers do random store / read / read_mut / retain / release / free
// on their own tokens and on tokens published by others. After every step
// each checks that no live token was handed out twice and that every payload
// read back is the one stored.
TEST(ConcurrentManager, RandomizedStressKeepsEveryMessageIntact) {
  constexpr std::size_t capacity = 64;
  constexpr int workers = 4;
  constexpr int steps = 20000;
  ConcurrentManager<TestTensor> m(capacity);
  // Which (worker, serial) owns each slot; 0 = nobody. Written only by the
  // worker holding the slot's live token, read by everyone.
  std::vector<std::atomic<std::uint64_t>> owner(capacity);
  // The live token of each slot, for other workers to read; 0 = none.
  std::vector<std::atomic<std::uint64_t>> published(capacity);
  std::atomic<int> failures{0};

  auto worker = [&](int id) {
    auto handle = m.scoped_handle();
    std::mt19937 rng(static_cast<unsigned>(id) * 7919U + 1U);
    std::unordered_map<std::uint64_t, std::uint32_t> mine;  // token bits -> fill value
    std::uint32_t serial = 0;
    auto fail = [&](const char* what) {
      ADD_FAILURE() << "worker " << id << ": " << what;
      failures.fetch_add(1);
    };
    // Another worker may hold a read guard on our token for a moment: free
    // refuses (never waits) with BorrowActive, so retry until it is gone.
    auto free_retrying = [&](MessageToken t) {
      for (;;) {
        auto freed = handle.free(t);
        if (freed || freed.error() != MemoryError::BorrowActive) return freed;
        std::this_thread::yield();
      }
    };
    for (int step = 0; step < steps && failures.load() == 0; ++step) {
      const auto op = static_cast<unsigned>(rng() % 7);
      if (op <= 1 || mine.empty()) {  // store
        const std::uint32_t fill = (static_cast<std::uint32_t>(id) << 24) | (++serial & 0xFFFFFF);
        auto t = handle.store(message(fill));
        if (!t) {
          if (t.error() != MemoryError::NoFreeSlots) fail("store failed unexpectedly");
          continue;
        }
        std::uint64_t expected = 0;
        if (!owner[t->index()].compare_exchange_strong(expected, fill)) {
          fail("a slot was handed out twice");
        }
        mine.emplace(t->bits(), fill);
        published[t->index()].store(t->bits());
        continue;
      }
      if (op == 6) {  // read some other worker's message, if it is still there
        const MessageToken other = MessageToken::from_bits(published[rng() % capacity].load());
        if (other.bits() == 0) continue;
        auto g = handle.read(other);
        if (g) {
          const auto& d = (*g)->payload.data;
          for (auto v : d) {
            if (v != d[0] || v == 0) fail("read a half-written or foreign payload");
          }
        } else if (g.error() != MemoryError::NotAllocated && g.error() != MemoryError::StaleToken) {
          fail("reading a published token gave an unexpected error");
        }
        continue;
      }
      auto it = mine.begin();
      std::advance(it, static_cast<long>(rng() % mine.size()));
      const MessageToken t = MessageToken::from_bits(it->first);
      const std::uint32_t fill = it->second;
      switch (op) {
        case 2: {
          auto g = handle.read(t);
          if (!g || (*g)->payload != tensor(fill)) fail("read returned another payload");
          break;
        }
        case 3: {
          auto g = handle.read_mut(t);
          if (!g || (*g)->payload.data[8] != fill) fail("read_mut returned another payload");
          break;
        }
        case 4: {
          if (!handle.retain(t)) fail("retain failed");
          auto refused = handle.free(t);
          if (refused.has_value()) fail("a retained slot was freed");
          if (refused.error() != MemoryError::QueueOwned &&
              refused.error() != MemoryError::BorrowActive) {
            fail("free of a retained slot gave an unexpected error");
          }
          if (!handle.release(t)) fail("release failed");
          break;
        }
        default: {
          published[t.index()].store(0);
          owner[t.index()].store(0);
          if (!free_retrying(t)) fail("free failed");
          mine.erase(it);
          if (handle.read(t).has_value()) fail("a freed token still reads");
          break;
        }
      }
    }
    for (const auto& [bits, fill] : mine) {
      published[MessageToken::from_bits(bits).index()].store(0);
      owner[MessageToken::from_bits(bits).index()].store(0);
      if (!free_retrying(MessageToken::from_bits(bits))) fail("final free failed");
    }
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) threads.emplace_back(worker, i);
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(m.available(), m.capacity());
  const ManagerStats s = m.stats();
  EXPECT_EQ(s.stores, s.frees);
  EXPECT_EQ(s.in_use, 0U);
  EXPECT_LE(s.peak_in_use, capacity);
}

// Readers on one token and writers on another never block each other, and
// shared readers of one token proceed together while a writer waits.
TEST(ConcurrentManager, ReadersAndWritersOfManyTokensUnderLoad) {
  ConcurrentManager<TestTensor> m(8);
  std::vector<MessageToken> tokens;
  for (std::uint32_t i = 0; i < 8; ++i) tokens.push_back(m.store(message(0)).value());
  std::atomic<int> torn{0};
  auto writer = [&](std::size_t which) {
    for (std::uint32_t v = 1; v <= 2000; ++v) {
      auto g = m.read_mut(tokens[which]).value();
      g->payload.data.fill(v);
    }
  };
  auto reader = [&] {
    for (int i = 0; i < 4000; ++i) {
      auto g = m.read(tokens[static_cast<std::size_t>(i) % tokens.size()]).value();
      for (auto v : g->payload.data) {
        if (v != g->payload.data[0]) torn.fetch_add(1);  // a half-written slot
      }
    }
  };
  std::thread w1(writer, 0), w2(writer, 1), r1(reader), r2(reader);
  w1.join();
  w2.join();
  r1.join();
  r2.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(m.read(tokens[0]).value()->payload, tensor(2000));
}

}  // namespace
}  // namespace limen::test
