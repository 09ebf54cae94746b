// SPDX-License-Identifier: Apache-2.0
// The typed conformance suite: every manager, every memory class, every mode.
// Only the definitions: conformance_host_test.cpp, conformance_class_test.cpp
// and conformance_any_test.cpp instantiate it, each for a group of managers,
// so the three compile in parallel. A new manager joins by adding one line to
// the list of its group.
#pragma once

#include "test_support.hpp"

#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace limen::test {

constexpr std::size_t kCapacity = 4;

template <class M>
class Conformance : public ::testing::Test {
 protected:
  std::unique_ptr<M> manager = Maker<M>::make(kCapacity);
  M& mgr = *manager;

  MessageToken store(std::uint32_t fill) {
    auto token = mgr.store(message(fill));
    EXPECT_TRUE(token.has_value()) << to_string(token.error());
    return token.has_value() ? *token : MessageToken::invalid();
  }
};
TYPED_TEST_SUITE_P(Conformance);

TYPED_TEST_P(Conformance, SatisfiesTheManagerConcepts) {
  static_assert(MemoryManager<TypeParam, TestTensor>);
  static_assert(HeaderStore<TypeParam>);
  static_assert(!std::is_copy_constructible_v<typename TypeParam::ReadGuard>);
  static_assert(std::is_nothrow_move_constructible_v<typename TypeParam::WriteGuard>);
  static_assert(std::is_nothrow_destructible_v<typename TypeParam::HeaderGuard>);
  EXPECT_EQ(this->mgr.capacity(), kCapacity);
}

// Original test 1: store_read_free_cycle.
TYPED_TEST_P(Conformance, StoreReadFreeCycle) {
  auto& m = this->mgr;
  EXPECT_EQ(m.available(), kCapacity);
  const MessageToken t = this->store(7);
  EXPECT_EQ(m.available(), kCapacity - 1);
  {
    auto guard = m.read(t);
    ASSERT_TRUE(guard.has_value()) << to_string(guard.error());
    EXPECT_EQ((*guard)->payload, tensor(7));
  }
  ASSERT_TRUE(m.free(t).has_value());
  EXPECT_EQ(m.available(), kCapacity);
}

// Original test 2: read_mut_works.
TYPED_TEST_P(Conformance, WriteGuardChangesAreVisibleToLaterReads) {
  auto& m = this->mgr;
  const MessageToken t = this->store(1);
  {
    auto guard = m.read_mut(t);
    ASSERT_TRUE(guard.has_value()) << to_string(guard.error());
    (*guard)->payload.data[4] = 99;
    (*guard)->header.sequence = 5;
  }
  auto read = m.read(t).value();
  EXPECT_EQ(read->payload.data[4], 99U);
  EXPECT_EQ(read->payload.data[0], 1U);
  EXPECT_EQ(read->header.sequence, 5U);
  EXPECT_EQ(m.peek_header(t).value()->sequence, 5U);
}

// Original test 3: peek_header_works.
TYPED_TEST_P(Conformance, PeekHeaderReportsThePayloadSize) {
  const MessageToken t = this->mgr.store(message(3, 42)).value();
  auto header = this->mgr.peek_header(t).value();
  EXPECT_EQ(header->payload_size_bytes, 36U);
  EXPECT_EQ(header->trace_id, 42U);
  EXPECT_EQ(header->memory_class, this->mgr.memory_class());
}

// Original test 4: capacity_exhaustion.
TYPED_TEST_P(Conformance, StoreFailsWithNoFreeSlotsWhenFull) {
  auto& m = this->mgr;
  for (std::uint32_t i = 0; i < kCapacity; ++i) this->store(i);
  EXPECT_EQ(m.available(), 0U);
  LIMEN_EXPECT_ERROR(m.store(message(9)), MemoryError::NoFreeSlots);
  EXPECT_EQ(m.stats().failed_stores, 1U);
  EXPECT_EQ(m.available(), 0U);
}

// Original test 5: double_free_detected.
TYPED_TEST_P(Conformance, DoubleFreeIsNotAllocated) {
  const MessageToken t = this->store(1);
  ASSERT_TRUE(this->mgr.free(t).has_value());
  LIMEN_EXPECT_ERROR(this->mgr.free(t), MemoryError::NotAllocated);
  // A device class's free is stream-ordered: the slot may still wait for its
  // upload (pending), but it holds no message.
  const ManagerStats s = this->mgr.stats();
  EXPECT_EQ(s.in_use, 0U);
  EXPECT_EQ(s.frees, 1U);
  EXPECT_LE(s.pending_frees, 1U);
}

// Original test 6: bad_token_detected, on every call that takes a token.
TYPED_TEST_P(Conformance, OutOfRangeAndInvalidTokensAreBadToken) {
  auto& m = this->mgr;
  this->store(1);
  for (MessageToken t :
       {MessageToken{99, 1}, MessageToken{kCapacity, 1}, MessageToken::invalid()}) {
    LIMEN_EXPECT_ERROR(m.read(t), MemoryError::BadToken);
    LIMEN_EXPECT_ERROR(m.read_mut(t), MemoryError::BadToken);
    LIMEN_EXPECT_ERROR(m.peek_header(t), MemoryError::BadToken);
    LIMEN_EXPECT_ERROR(m.free(t), MemoryError::BadToken);
    LIMEN_EXPECT_ERROR(m.retain(t), MemoryError::BadToken);
  }
}

// Original test 7 (read_freed_slot), with limen's rule: an empty slot is NotAllocated.
TYPED_TEST_P(Conformance, ReadingAFreedSlotIsNotAllocated) {
  auto& m = this->mgr;
  const MessageToken t = this->store(1);
  ASSERT_TRUE(m.free(t).has_value());
  LIMEN_EXPECT_ERROR(m.read(t), MemoryError::NotAllocated);
  LIMEN_EXPECT_ERROR(m.read_mut(t), MemoryError::NotAllocated);
  LIMEN_EXPECT_ERROR(m.peek_header(t), MemoryError::NotAllocated);
  LIMEN_EXPECT_ERROR(m.retain(t), MemoryError::NotAllocated);
  LIMEN_EXPECT_ERROR(m.read(MessageToken{2, 0}), MemoryError::NotAllocated);  // never stored
}

// Original test 8 (slot_reuse_after_free), plus generations.
TYPED_TEST_P(Conformance, FreedSlotIsReusedAndOldTokenIsStale) {
  auto& m = this->mgr;
  const MessageToken old_token = this->store(1);
  for (std::uint32_t i = 1; i < kCapacity; ++i) {
    this->store(10 + i);  // the freed slot is the only one
  }
  ASSERT_TRUE(m.free(old_token).has_value());
  const MessageToken new_token = this->store(2);  // (waits for the slot's work where it is pending)
  EXPECT_EQ(new_token.index(), old_token.index());
  EXPECT_NE(new_token.generation(), old_token.generation());
  EXPECT_EQ(m.read(new_token).value()->payload, tensor(2));
  LIMEN_EXPECT_ERROR(m.read(old_token), MemoryError::StaleToken);
  LIMEN_EXPECT_ERROR(m.read_mut(old_token), MemoryError::StaleToken);
  LIMEN_EXPECT_ERROR(m.peek_header(old_token), MemoryError::StaleToken);
  LIMEN_EXPECT_ERROR(m.free(old_token), MemoryError::StaleToken);
  LIMEN_EXPECT_ERROR(m.retain(old_token), MemoryError::StaleToken);
  EXPECT_EQ(m.read(new_token).value()->payload, tensor(2));  // the new message is untouched
}

// Original tests 9 and 10, for every manager: the class is fixed and stamped on headers.
TYPED_TEST_P(Conformance, StoredHeadersCarryTheManagersMemoryClass) {
  MessageHeader h{};
  h.memory_class = MemoryClass::shared();
  if (this->mgr.memory_class() == MemoryClass::shared()) h.memory_class = MemoryClass::host();
  const MessageToken t = this->mgr.store(Message<TestTensor>(h, tensor(1))).value();
  EXPECT_EQ(this->mgr.peek_header(t).value()->memory_class, this->mgr.memory_class());
}

TYPED_TEST_P(Conformance, ManyReadersShareASlot) {
  auto& m = this->mgr;
  const MessageToken t = this->store(5);
  auto a = m.read(t).value();
  auto b = m.read(t).value();
  auto h = m.peek_header(t).value();
  EXPECT_EQ(a->payload, tensor(5));
  EXPECT_EQ(b->payload, tensor(5));
  EXPECT_EQ(h->payload_size_bytes, 36U);
}

TYPED_TEST_P(Conformance, WriteGuardExcludesEveryOtherGuard) {
  auto& m = this->mgr;
  const MessageToken t = this->store(5);
  {
    auto w = m.read_mut(t).value();
    LIMEN_EXPECT_ERROR(try_read(m, t), MemoryError::AlreadyBorrowed);
    LIMEN_EXPECT_ERROR(try_read_mut(m, t), MemoryError::AlreadyBorrowed);
    LIMEN_EXPECT_ERROR(m.free(t), MemoryError::BorrowActive);
  }
  {
    auto r = m.read(t).value();
    LIMEN_EXPECT_ERROR(try_read_mut(m, t), MemoryError::AlreadyBorrowed);
    LIMEN_EXPECT_ERROR(m.free(t), MemoryError::BorrowActive);
  }
  {
    auto h = m.peek_header(t).value();
    LIMEN_EXPECT_ERROR(m.free(t), MemoryError::BorrowActive);
  }
  EXPECT_TRUE(m.free(t).has_value());
}

TYPED_TEST_P(Conformance, GuardsAreMoveOnlyAndReleaseOnce) {
  auto& m = this->mgr;
  const MessageToken t = this->store(5);
  auto w = m.read_mut(t).value();
  auto moved = std::move(w);
  EXPECT_FALSE(
      static_cast<bool>(w));  // NOLINT(bugprone-use-after-move): checking the moved-from state
  ASSERT_TRUE(static_cast<bool>(moved));
  moved->payload.data[0] = 11;
  LIMEN_EXPECT_ERROR(m.free(t), MemoryError::BorrowActive);
  moved.reset();
  w.reset();  // releasing an empty guard does nothing
  auto r1 = m.read(t).value();
  auto r2 = m.read(t).value();
  r1 = std::move(r2);  // the overwritten guard releases, the moved one keeps its hold
  LIMEN_EXPECT_ERROR(try_read_mut(m, t), MemoryError::AlreadyBorrowed);
  r1.reset();
  EXPECT_EQ(m.read_mut(t).value()->payload.data[0], 11U);
}

TYPED_TEST_P(Conformance, RetainedTokensAreQueueOwned) {
  auto& m = this->mgr;
  const MessageToken t = this->store(5);
  ASSERT_TRUE(m.retain(t).has_value());
  ASSERT_TRUE(m.retain(t).has_value());
  LIMEN_EXPECT_ERROR(m.free(t), MemoryError::QueueOwned);
  EXPECT_EQ(m.read(t).value()->payload, tensor(5));  // retained messages stay readable
  ASSERT_TRUE(m.release(t).has_value());
  LIMEN_EXPECT_ERROR(m.free(t), MemoryError::QueueOwned);
  ASSERT_TRUE(m.release(t).has_value());
  LIMEN_EXPECT_ERROR(m.release(t), MemoryError::BadToken);  // nothing left to release
  EXPECT_TRUE(m.free(t).has_value());
}

TYPED_TEST_P(Conformance, StatsCountStoresFreesAndPeak) {
  auto& m = this->mgr;
  const ManagerStats before = m.stats();
  EXPECT_EQ(before.stores, 0U);
  EXPECT_EQ(before.in_use, 0U);
  const MessageToken a = this->store(1);
  const MessageToken b = this->store(2);
  const MessageToken c = this->store(3);
  ASSERT_TRUE(m.free(b).has_value());
  const ManagerStats s = m.stats();
  EXPECT_EQ(s.stores, 3U);
  EXPECT_EQ(s.frees, 1U);
  EXPECT_EQ(s.failed_stores, 0U);
  EXPECT_EQ(s.in_use, 2U);
  EXPECT_EQ(s.peak_in_use, 3U);
  ASSERT_TRUE(m.free(a).has_value());
  ASSERT_TRUE(m.free(c).has_value());
  EXPECT_EQ(m.stats().in_use, 0U);
  EXPECT_EQ(m.stats().peak_in_use, 3U);
}

TYPED_TEST_P(Conformance, PayloadSizeIsKeptAsStoredOrChanged) {
  auto& m = this->mgr;
  Message<TestTensor> msg = message(1);
  msg.header.payload_size_bytes = 4096;  // callers may report a size of their own
  const MessageToken t = m.store(msg).value();
  EXPECT_EQ(m.peek_header(t).value()->payload_size_bytes, 4096U);
  m.read_mut(t).value()->header.payload_size_bytes = 100;
  EXPECT_EQ(m.peek_header(t).value()->payload_size_bytes, 100U);
}

TYPED_TEST_P(Conformance, EveryFreedSlotComesBack) {
  auto& m = this->mgr;
  std::vector<MessageToken> tokens;
  for (int round = 0; round < 3; ++round) {
    for (std::uint32_t i = 0; i < kCapacity; ++i) tokens.push_back(this->store(i + 10));
    for (std::uint32_t i = 0; i < kCapacity; ++i) {
      EXPECT_EQ(m.read(tokens[i]).value()->payload, tensor(i + 10));
    }
    for (MessageToken t : tokens) ASSERT_TRUE(m.free(t).has_value());
    tokens.clear();
    EXPECT_EQ(m.available(), kCapacity);
  }
}

REGISTER_TYPED_TEST_SUITE_P(Conformance, SatisfiesTheManagerConcepts, StoreReadFreeCycle,
                            WriteGuardChangesAreVisibleToLaterReads,
                            PeekHeaderReportsThePayloadSize, StoreFailsWithNoFreeSlotsWhenFull,
                            DoubleFreeIsNotAllocated, OutOfRangeAndInvalidTokensAreBadToken,
                            ReadingAFreedSlotIsNotAllocated, FreedSlotIsReusedAndOldTokenIsStale,
                            StoredHeadersCarryTheManagersMemoryClass, ManyReadersShareASlot,
                            WriteGuardExcludesEveryOtherGuard, GuardsAreMoveOnlyAndReleaseOnce,
                            RetainedTokensAreQueueOwned, StatsCountStoresFreesAndPeak,
                            PayloadSizeIsKeptAsStoredOrChanged, EveryFreedSlotComesBack);

}  // namespace limen::test
