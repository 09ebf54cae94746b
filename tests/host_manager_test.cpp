// SPDX-License-Identifier: Apache-2.0
// Host managers beyond the conformance suite: payloads of any movable type,
// exception safety, teardown, construction limits.
#include "test_support.hpp"

#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace limen::test {
namespace {

template <class M>
class HostPayloads : public ::testing::Test {};
using StringManagers = ::testing::Types<StaticManager<std::string, 3>, HeapManager<std::string>,
                                        ConcurrentManager<std::string>>;
TYPED_TEST_SUITE(HostPayloads, StringManagers);

TYPED_TEST(HostPayloads, StoreNonTriviallyCopyablePayloads) {
  auto m = Maker<TypeParam>::make(3);
  const std::string long_text(1000, 'x');  // beyond any small-string buffer
  const MessageToken a = m->store(Message<std::string>(long_text)).value();
  const MessageToken b = m->store(Message<std::string>("short")).value();
  EXPECT_EQ(m->read(a).value()->payload, long_text);
  m->read_mut(b).value()->payload += " and longer";
  EXPECT_EQ(m->read(b).value()->payload, "short and longer");
  ASSERT_TRUE(m->free(a).has_value());
  const MessageToken c = m->store(Message<std::string>("reused")).value();
  EXPECT_EQ(c.index(), a.index());
  EXPECT_EQ(m->read(c).value()->payload, "reused");
}

TEST(HostPayloads, VectorsAndMoveOnlyPayloads) {
  HeapManager<std::vector<int>> vectors(2);
  const MessageToken t = vectors.store(Message<std::vector<int>>({1, 2, 3})).value();
  EXPECT_EQ(vectors.read(t).value()->payload.size(), 3U);

  ConcurrentManager<std::unique_ptr<int>> owners(2);
  const MessageToken u =
      owners.store(Message<std::unique_ptr<int>>(std::make_unique<int>(8))).value();
  EXPECT_EQ(*owners.read(u).value()->payload, 8);
}

/// Counts live instances; its move constructor throws after a set number of moves.
struct Fragile {
  static inline int live = 0;
  static inline int moves_before_throw = -1;  ///< -1: never throw
  int value = 0;

  explicit Fragile(int v) : value(v) { ++live; }
  Fragile(const Fragile& other) : value(other.value) { ++live; }
  Fragile(Fragile&& other) : value(other.value) {
    if (moves_before_throw == 0) throw std::runtime_error("move failed");
    if (moves_before_throw > 0) --moves_before_throw;
    ++live;
  }
  Fragile& operator=(const Fragile&) = default;
  ~Fragile() { --live; }
};

template <class M>
class ThrowingStore : public ::testing::Test {
 protected:
  void SetUp() override { Fragile::moves_before_throw = -1; }
  void TearDown() override { Fragile::moves_before_throw = -1; }
};
using FragileManagers =
    ::testing::Types<StaticManager<Fragile, 2>, HeapManager<Fragile>, ConcurrentManager<Fragile>>;
TYPED_TEST_SUITE(ThrowingStore, FragileManagers);

TYPED_TEST(ThrowingStore, AThrowingMoveLeavesTheManagerUnchanged) {
  auto m = Maker<TypeParam>::make(2);
  const MessageToken kept = m->store(Message<Fragile>(Fragile(1))).value();
  const ManagerStats before = m->stats();

  Message<Fragile> doomed(Fragile(2));
  // store() takes the message by reference, so the first move is the one into the slot.
  Fragile::moves_before_throw = 0;
  EXPECT_THROW((void)m->store(std::move(doomed)), std::runtime_error);
  Fragile::moves_before_throw = -1;
  EXPECT_EQ(doomed.payload.value, 2) << "a failed store leaves the caller's message intact";

  EXPECT_EQ(m->available(), 1U);
  EXPECT_EQ(m->stats(), before);
  EXPECT_EQ(m->read(kept).value()->payload.value, 1);
  // The slot the failed store took is free again: one more store fits.
  const MessageToken next = m->store(Message<Fragile>(Fragile(3))).value();
  EXPECT_NE(next.index(), kept.index());
  EXPECT_EQ(m->available(), 0U);
}

TYPED_TEST(ThrowingStore, DestroysLiveMessagesOnFreeAndTeardown) {
  const int live_before = Fragile::live;
  {
    auto m = Maker<TypeParam>::make(2);
    const MessageToken a = m->store(Message<Fragile>(Fragile(1))).value();
    (void)m->store(Message<Fragile>(Fragile(2))).value();
    EXPECT_EQ(Fragile::live, live_before + 2);
    ASSERT_TRUE(m->free(a).has_value());
    EXPECT_EQ(Fragile::live, live_before + 1);
  }
  EXPECT_EQ(Fragile::live, live_before);
}

TEST(HostManagers, MemoryClassIsHostByDefaultAndConfigurable) {
  EXPECT_EQ((StaticManager<int, 1>{}.memory_class()), MemoryClass::host());
  EXPECT_EQ(HeapManager<int>(1).memory_class(), MemoryClass::host());
  EXPECT_EQ(ConcurrentManager<int>(1).memory_class(), MemoryClass::host());
  EXPECT_EQ((StaticManager<int, 1>{MemoryClass::device(0)}.memory_class()), MemoryClass::device(0));
  EXPECT_EQ(HeapManager<int>(1, MemoryClass::device(0)).memory_class(), MemoryClass::device(0));
  EXPECT_EQ(ConcurrentManager<int>(1, MemoryClass::shared()).memory_class(), MemoryClass::shared());
}

TEST(HostManagers, ZeroCapacityRejectsEveryStore) {
  HeapManager<int> m(0);
  EXPECT_EQ(m.available(), 0U);
  LIMEN_EXPECT_ERROR(m.store(Message<int>(1)), MemoryError::NoFreeSlots);
  LIMEN_EXPECT_ERROR(m.read(MessageToken{0, 1}), MemoryError::BadToken);
}

TEST(HostManagers, CapacityBeyondTokenRangeIsAClearError) {
  try {
    HeapManager<char> m(std::size_t{1} << 32);
    FAIL() << "a capacity tokens cannot address must be rejected";
  } catch (const MemoryErrorException& e) {
    EXPECT_EQ(e.error(), MemoryError::Unsupported);
    EXPECT_NE(std::string(e.what()).find("capacity"), std::string::npos);
  }
}

TEST(HostManagers, HeapManagerMovesWithItsMessages) {
  HeapManager<int> a(2);
  const MessageToken t = a.store(Message<int>(42)).value();
  HeapManager<int> b = std::move(a);
  EXPECT_EQ(b.read(t).value()->payload, 42);
  EXPECT_EQ(b.configured_capacity(), 2U);
}

TEST(HostManagers, LifoReuseLikeTheOriginal) {
  HeapManager<int> m(4);
  std::vector<MessageToken> t;
  for (int i = 0; i < 4; ++i) t.push_back(m.store(Message<int>(i)).value());
  for (std::uint32_t i = 0; i < 4; ++i) EXPECT_EQ(t[i].index(), i);  // fresh: 0, 1, 2, 3
  ASSERT_TRUE(m.free(t[1]).has_value());
  ASSERT_TRUE(m.free(t[3]).has_value());
  EXPECT_EQ(m.store(Message<int>(9)).value().index(), 3U);  // most recently freed first
  EXPECT_EQ(m.store(Message<int>(9)).value().index(), 1U);
}

TEST(HostManagers, GenerationsAdvanceOnEveryReuse) {
  HeapManager<int> m(1);
  MessageToken previous = m.store(Message<int>(0)).value();
  for (int i = 1; i < 50; ++i) {
    ASSERT_TRUE(m.free(previous).has_value());
    const MessageToken next = m.store(Message<int>(i)).value();
    EXPECT_EQ(next.index(), 0U);
    EXPECT_EQ(next.generation(), previous.generation() + 1);
    LIMEN_EXPECT_ERROR(m.read(previous), MemoryError::StaleToken);
    previous = next;
  }
}

}  // namespace
}  // namespace limen::test
