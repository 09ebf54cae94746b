// SPDX-License-Identifier: Apache-2.0
// ConcurrentHandle's slot cache: a handle keeps the slots it frees (at most
// capacity / 16, at most 32) and returns the older half in one batch when
// full, so a worker that stores and frees its own messages skips the shared
// free list. What users rely on: counts stay exact, slots a consumer frees go
// back to the producer, a handle's cached slots come back when it goes, and
// handles beyond the caches still work.
#include "test_support.hpp"

#include <limen/any_manager.hpp>
#include <limen/concurrent_manager.hpp>
#include <limen/pinned_manager.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace limen::test {
namespace {

TEST(HandleCache, OneWorkerCyclesItsSlotsWithExactCounts) {
  ConcurrentManager<TestTensor> m(256);  // caches of up to 16 slots
  auto handle = m.scoped_handle();
  for (std::uint32_t i = 0; i < 1000; ++i) {
    const MessageToken t = handle.store(message(i)).value();
    EXPECT_EQ(handle.read(t).value()->payload, tensor(i));
    ASSERT_TRUE(handle.free(t).has_value());
  }
  const ManagerStats s = m.stats();
  EXPECT_EQ(s.stores, 1000U);
  EXPECT_EQ(s.frees, 1000U);
  EXPECT_EQ(s.in_use, 0U);
  EXPECT_EQ(s.peak_in_use, 1U);
  EXPECT_EQ(m.available(), 256U);
  EXPECT_EQ(handle.available(), 256U);
}

TEST(HandleCache, FailedStoresThroughAHandleAreCounted) {
  ConcurrentManager<TestTensor> m(16);  // a cache of one slot
  auto handle = m.scoped_handle();
  std::vector<MessageToken> all;
  for (std::uint32_t i = 0; i < 16; ++i) all.push_back(handle.store(message(i)).value());
  LIMEN_EXPECT_ERROR(handle.store(message(99)), MemoryError::NoFreeSlots);
  EXPECT_EQ(m.stats().failed_stores, 1U);
  for (MessageToken t : all) ASSERT_TRUE(handle.free(t).has_value());
  EXPECT_EQ(m.available(), 16U);
  EXPECT_EQ(m.stats().in_use, 0U);
}

TEST(HandleCache, ACachedSlotIsTakenByItsHandleOnlyUntilTheHandleGoes) {
  ConcurrentManager<TestTensor> m(32);  // caches of up to 2 slots
  std::vector<MessageToken> rest;
  {
    auto worker = m.scoped_handle();
    const MessageToken mine = worker.store(message(1)).value();
    ASSERT_TRUE(worker.free(mine).has_value());  // kept in the worker's cache
    EXPECT_EQ(m.available(), 32U);               // free, and counted as free
    for (;;) {                                   // everyone else gets the other slots
      auto t = m.store(message(2));
      if (!t) break;
      rest.push_back(*t);
    }
    EXPECT_GE(rest.size(), 30U);  // at most the worker's cache (2 slots) is out of reach
    const MessageToken again = worker.store(message(3)).value();  // the worker still has it
    EXPECT_EQ(again.index(), mine.index());
    ASSERT_TRUE(worker.free(again).has_value());
  }
  // The worker is gone: its cached slots are everyone's again.
  while (rest.size() < 32) rest.push_back(m.store(message(4)).value());
  LIMEN_EXPECT_ERROR(m.store(message(5)), MemoryError::NoFreeSlots);
  for (MessageToken t : rest) ASSERT_TRUE(m.free(t).has_value());
  EXPECT_EQ(m.available(), 32U);
}

// A consumer's handle keeps up to its cache's limit of the slots it frees and
// gives the rest back in batches, where the producer's refills find them.
TEST(HandleCache, AConsumerKeepsAtMostItsLimitOfAProducersSlots) {
  constexpr std::size_t capacity = 64;  // caches of up to 4 slots
  ConcurrentManager<TestTensor> m(capacity);
  auto producer = m.scoped_handle();
  std::vector<MessageToken> tokens;
  for (std::uint32_t i = 0; i < capacity; ++i) tokens.push_back(producer.store(message(i)).value());
  std::size_t kept = 0;
  {
    auto consumer = m.scoped_handle();
    for (MessageToken t : tokens) ASSERT_TRUE(consumer.free(t).has_value());
    EXPECT_EQ(m.available(), capacity);  // cached slots count as free
    tokens.clear();
    for (;;) {  // the producer gets back every slot the consumer does not keep
      auto t = producer.store(message(7));
      if (!t) break;
      tokens.push_back(*t);
    }
    kept = capacity - tokens.size();
    EXPECT_GE(kept, 1U);
    EXPECT_LE(kept, 4U);
    EXPECT_EQ(m.available(), kept);
    EXPECT_EQ(producer.read(tokens.back()).value()->payload, tensor(7));
  }
  // The consumer is gone: the slots it kept are the producer's again.
  for (std::size_t i = 0; i < kept; ++i) tokens.push_back(producer.store(message(8)).value());
  LIMEN_EXPECT_ERROR(producer.store(message(9)), MemoryError::NoFreeSlots);
  for (MessageToken t : tokens) ASSERT_TRUE(producer.free(t).has_value());
  const ManagerStats s = m.stats();
  EXPECT_EQ(s.stores, 2 * capacity);
  EXPECT_EQ(s.frees, 2 * capacity);
  EXPECT_EQ(s.failed_stores, 2U);
  EXPECT_EQ(s.in_use, 0U);
  EXPECT_EQ(m.available(), capacity);
}

// The staging pattern: thread A stores, thread B reads and frees. B's frees go
// back where A finds them, so A never runs dry while B keeps up.
TEST(HandleCache, AProducersSlotsFreedByItsConsumerComeBack) {
  constexpr std::size_t capacity = 64;
  constexpr std::uint32_t messages = 20000;
  ConcurrentManager<TestTensor> m(capacity);
  constexpr std::size_t ring = capacity / 2;            // fewer messages in flight than slots
  std::vector<std::atomic<std::uint64_t>> queue(ring);  // 0 = empty, else token bits + 1
  std::atomic<std::uint32_t> mismatches{0};
  std::thread consumer([&, handle = m.scoped_handle()]() mutable {
    for (std::uint32_t i = 0; i < messages; ++i) {
      auto& cell = queue[i % ring];
      std::uint64_t bits;
      while ((bits = cell.load(std::memory_order_acquire)) == 0) std::this_thread::yield();
      cell.store(0, std::memory_order_release);
      const MessageToken t = MessageToken::from_bits(bits - 1);
      if (handle.read(t).value()->payload != tensor(i)) mismatches.fetch_add(1);
      if (!handle.free(t)) mismatches.fetch_add(1);
    }
  });
  std::uint32_t starved = 0;
  {
    auto producer = m.scoped_handle();
    for (std::uint32_t i = 0; i < messages; ++i) {
      auto& cell = queue[i % ring];
      while (cell.load(std::memory_order_acquire) != 0) std::this_thread::yield();
      Result<MessageToken> t = producer.store(message(i));
      // At most ring + 1 messages are live: a slot is always free somewhere.
      while (!t) {
        ++starved;
        std::this_thread::yield();
        t = producer.store(message(i));
      }
      cell.store(t->bits() + 1, std::memory_order_release);
    }
  }
  consumer.join();
  EXPECT_EQ(mismatches.load(), 0U);
  EXPECT_EQ(starved, 0U) << "the producer found no slot while the consumer had freed them";
  const ManagerStats s = m.stats();
  EXPECT_EQ(s.stores, messages);
  EXPECT_EQ(s.frees, messages);
  EXPECT_EQ(s.in_use, 0U);
  EXPECT_EQ(m.available(), capacity);
}

TEST(HandleCache, HandlesBeyondTheCachesStillWorkAndCopiesGetTheirOwn) {
  ConcurrentManager<TestTensor> m(1024);
  std::vector<ConcurrentHandle<TestTensor>> handles;
  for (int i = 0; i < 40; ++i) handles.push_back(m.scoped_handle());  // 32 caches
  handles.push_back(handles.front());                                 // a copy
  std::uint32_t fill = 0;
  for (auto& h : handles) {
    for (int k = 0; k < 3; ++k) {
      const MessageToken t = h.store(message(++fill)).value();
      EXPECT_EQ(h.read(t).value()->payload, tensor(fill));
      ASSERT_TRUE(h.free(t).has_value());
    }
  }
  EXPECT_EQ(m.stats().stores, 3U * handles.size());
  EXPECT_EQ(m.stats().in_use, 0U);
  handles.clear();
  EXPECT_EQ(m.available(), 1024U);
}

// Many workers at once, each cycling its own slots and freeing some of the
// others': nothing is lost (TSan checks the cache's single-owner access).
TEST(HandleCache, WorkersCyclingAndTradingSlotsLoseNone) {
  constexpr std::size_t capacity = 512;
  constexpr int workers = 4;
  ConcurrentManager<TestTensor> m(capacity);
  std::vector<std::atomic<std::uint64_t>> mailbox(workers);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w, handle = m.scoped_handle()]() mutable {
      for (std::uint32_t i = 0; i < 5000; ++i) {
        const auto fill = static_cast<std::uint32_t>(w) * 100000U + i;
        Result<MessageToken> t = handle.store(message(fill));
        if (!t) continue;  // others may hold slots in their caches for a moment
        if (handle.read(*t).value()->payload != tensor(fill)) failures.fetch_add(1);
        const auto free_bits = [&](std::uint64_t bits) {
          if (bits != 0 && !handle.free(MessageToken::from_bits(bits - 1))) failures.fetch_add(1);
        };
        free_bits(mailbox[w].exchange(0));  // what the previous worker left for us
        if (i % 3 == 0) {                   // hand ours to the next worker
          free_bits(mailbox[(w + 1) % workers].exchange(t->bits() + 1));  // not taken yet: ours
        } else {
          free_bits(t->bits() + 1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& cell : mailbox) {
    if (const std::uint64_t bits = cell.load(); bits != 0) {
      ASSERT_TRUE(m.free(MessageToken::from_bits(bits - 1)).has_value());
    }
  }
  EXPECT_EQ(failures.load(), 0);
  const ManagerStats s = m.stats();
  EXPECT_EQ(s.stores, s.frees);
  EXPECT_EQ(s.in_use, 0U);
  EXPECT_EQ(m.available(), capacity);
}

// A handle stays safe from any thread: its cache belongs to the first thread
// that uses it, and the other one goes through the shared free list.
TEST(HandleCache, AHandleSharedByTwoThreadsStaysSafe) {
  constexpr std::size_t capacity = 256;
  ConcurrentManager<TestTensor> m(capacity);
  auto shared = m.scoped_handle();
  std::atomic<int> failures{0};
  auto work = [&](std::uint32_t base) {
    for (std::uint32_t i = 0; i < 5000; ++i) {
      const MessageToken t = shared.store(message(base + i)).value();
      if (shared.read(t).value()->payload != tensor(base + i)) failures.fetch_add(1);
      if (!shared.free(t)) failures.fetch_add(1);
    }
  };
  std::thread a(work, 0U);
  std::thread b(work, 100000U);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  const ManagerStats s = m.stats();
  EXPECT_EQ(s.stores, 10000U);
  EXPECT_EQ(s.frees, 10000U);
  EXPECT_EQ(m.available(), capacity);
}

// However many handles there are, their caches keep at most half the slots
// out of everyone else's reach.
TEST(HandleCache, CachesTogetherKeepAtMostHalfTheSlots) {
  constexpr std::size_t capacity = 64;  // caches of up to 4 slots
  ConcurrentManager<TestTensor> m(capacity);
  std::vector<ConcurrentHandle<TestTensor>> handles;
  for (int i = 0; i < 20; ++i) {
    handles.push_back(m.scoped_handle());
    const MessageToken t = handles.back().store(message(1)).value();  // fills its cache
    ASSERT_TRUE(handles.back().free(t).has_value());
  }
  std::vector<MessageToken> taken;
  while (auto t = m.store(message(2))) taken.push_back(*t);
  EXPECT_GE(taken.size(), capacity / 2);
  for (MessageToken t : taken) ASSERT_TRUE(m.free(t).has_value());
  handles.clear();
  EXPECT_EQ(m.available(), capacity);
}

// AnyManager over an emptied (moved-from) class manager is an empty manager
// of the same class.
TEST(HandleCache, AnyManagerOverAMovedFromClassManagerIsEmpty) {
  ManagerConfig c;
  c.capacity = 4;
  PinnedManager<TestTensor> pinned(c);
  PinnedManager<TestTensor> keeper(std::move(pinned));
  AnyManager<TestTensor> any(std::move(pinned));  // NOLINT(bugprone-use-after-move): on purpose
  EXPECT_EQ(any.capacity(), 0U);
  EXPECT_EQ(any.memory_class(), MemoryClass::pinned_host());
  LIMEN_EXPECT_ERROR(any.store(message(1)), MemoryError::Unsupported);
  EXPECT_EQ(keeper.capacity(), 4U);
}

}  // namespace
}  // namespace limen::test
