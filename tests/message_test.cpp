// SPDX-License-Identifier: Apache-2.0
// Tokens, headers, flags, messages, errors and Result.
#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

namespace limen {
namespace {

struct Sized {
  int bytes;
  [[nodiscard]] std::size_t payload_bytes() const noexcept {
    return static_cast<std::size_t>(bytes);
  }
};

TEST(MessageToken, PacksIndexAndGeneration) {
  const MessageToken t{7, 3};
  EXPECT_EQ(t.index(), 7U);
  EXPECT_EQ(t.generation(), 3U);
  EXPECT_EQ(t.bits(), (3ULL << 32) | 7U);
  EXPECT_EQ(MessageToken::from_bits(t.bits()), t);
  EXPECT_NE(t, (MessageToken{7, 4}));
  EXPECT_FALSE(t.is_invalid());
  static_assert(sizeof(MessageToken) == 8 && std::is_trivially_copyable_v<MessageToken>);
}

TEST(MessageToken, DefaultIsInvalid) {
  EXPECT_TRUE(MessageToken{}.is_invalid());
  EXPECT_EQ(MessageToken{}, MessageToken::invalid());
  EXPECT_EQ(MessageToken::invalid().index(), 0xFFFF'FFFFU);
}

TEST(MessageToken, HashesDistinctTokensApart) {
  std::unordered_set<MessageToken> set;
  for (std::uint32_t i = 0; i < 100; ++i) {
    set.insert(MessageToken{i, 1});
    set.insert(MessageToken{i, 2});
  }
  EXPECT_EQ(set.size(), 200U);
}

TEST(MessageHeader, DefaultIsEmpty) {
  const MessageHeader h{};
  EXPECT_EQ(h.trace_id, 0U);
  EXPECT_FALSE(h.deadline_ns.has_value());
  EXPECT_EQ(h.qos, QosClass::BestEffort);
  EXPECT_EQ(h.flags.bits(), 0U);
  EXPECT_EQ(h.memory_class, MemoryClass::host());
  EXPECT_EQ(h.payload_size_bytes, 0U);
  static_assert(std::is_trivially_copyable_v<MessageHeader>);
}

TEST(QosClass, OrderedByNumber) {
  EXPECT_LT(QosClass::Background, QosClass::BestEffort);
  EXPECT_LT(QosClass::BestEffort, QosClass::LatencyCritical);
  EXPECT_EQ(static_cast<int>(QosClass::LatencyCritical), 3);
}

TEST(MessageFlags, BitsAndHelpers) {
  const auto f = MessageFlags{}.first_in_batch().allow_degrade();
  EXPECT_TRUE(f.is_first());
  EXPECT_FALSE(f.is_last());
  EXPECT_TRUE(f.can_degrade());
  EXPECT_EQ(f.bits(), 0b101U);
  EXPECT_FALSE(f.without(MessageFlags::first_in_batch_bit).is_first());
  EXPECT_TRUE(f.contains(MessageFlags::first_in_batch_bit | MessageFlags::last_in_batch_bit));
  EXPECT_EQ(MessageFlags::from_bits(2), MessageFlags{}.last_in_batch());
}

TEST(Message, ConstructionSetsThePayloadSize) {
  EXPECT_EQ(Message<std::uint64_t>(5).header.payload_size_bytes, 8U);
  EXPECT_EQ(Message<Sized>(Sized{123}).header.payload_size_bytes, 123U);
  MessageHeader h{};
  h.trace_id = 9;
  h.payload_size_bytes = 777;  // overwritten from the payload
  const Message<Sized> m(h, Sized{40});
  EXPECT_EQ(m.header.payload_size_bytes, 40U);
  EXPECT_EQ(m.header.trace_id, 9U);
}

TEST(Message, PayloadBytesUsesTheMemberWhenPresent) {
  EXPECT_EQ(payload_bytes(Sized{3}), 3U);
  EXPECT_EQ(payload_bytes(std::uint16_t{1}), 2U);
  EXPECT_EQ(payload_bytes(std::string("abc")), sizeof(std::string));
}

TEST(Message, TriviallyCopyableWhenThePayloadIs) {
  static_assert(std::is_trivially_copyable_v<Message<int>>);
  static_assert(!std::is_trivially_copyable_v<Message<std::string>>);
  static_assert(std::is_nothrow_move_constructible_v<Message<std::vector<int>>>);
}

TEST(MemoryError, EveryErrorHasADistinctDescription) {
  std::unordered_set<std::string> seen;
  for (int e = 0; e <= static_cast<int>(MemoryError::OutOfMemory); ++e) {
    const auto text = std::string(to_string(static_cast<MemoryError>(e)));
    EXPECT_FALSE(text.empty());
    EXPECT_TRUE(seen.insert(text).second) << text;
  }
}

TEST(Result, HoldsAValueOrAnError) {
  Result<int> ok = 5;
  ASSERT_TRUE(ok.has_value());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(*ok, 5);
  EXPECT_EQ(ok.value(), 5);

  Result<int> bad = MemoryError::StaleToken;
  EXPECT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error(), MemoryError::StaleToken);
  try {
    (void)bad.value();
    FAIL() << "value() on an error must throw";
  } catch (const MemoryErrorException& e) {
    EXPECT_EQ(e.error(), MemoryError::StaleToken);
    EXPECT_EQ(std::string(e.what()), std::string(to_string(MemoryError::StaleToken)));
  }
}

TEST(Result, VoidResult) {
  Result<void> ok;
  EXPECT_TRUE(ok.has_value());
  EXPECT_NO_THROW(ok.value());
  Result<void> bad = MemoryError::QueueOwned;
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), MemoryError::QueueOwned);
  EXPECT_THROW(bad.value(), MemoryErrorException);
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(4);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 4);
}

// A token's Result must travel in registers: trivially copyable, two words.
static_assert(std::is_trivially_copyable_v<Result<MessageToken>>);
static_assert(sizeof(Result<MessageToken>) <= 2 * sizeof(void*));
static_assert(!std::is_copy_constructible_v<Result<std::unique_ptr<int>>>);
static_assert(std::is_nothrow_move_constructible_v<Result<std::unique_ptr<int>>>);

TEST(Result, CopiesAndAssignmentsKeepTheRightMember) {
  Result<std::string> text = std::string(100, 'x');
  Result<std::string> copy = text;
  EXPECT_EQ(*copy, std::string(100, 'x'));
  copy = MemoryError::BadToken;  // the string is destroyed (ASan/LSan see a leak otherwise)
  EXPECT_EQ(copy.error(), MemoryError::BadToken);
  copy = text;
  EXPECT_EQ(copy->size(), 100U);
  Result<std::string> moved = std::move(copy);
  EXPECT_EQ(*moved, *text);
  text = std::move(moved);
  EXPECT_TRUE(text.has_value());
  Result<MessageToken> token = MessageToken{3, 4};
  Result<MessageToken> other = MemoryError::NoFreeSlots;
  other = token;
  EXPECT_EQ(other->generation(), 4U);
}

TEST(MemoryErrorException, CarriesContext) {
  const MemoryErrorException e(MemoryError::DeviceError, "cudaMalloc: out of memory");
  EXPECT_EQ(e.error(), MemoryError::DeviceError);
  EXPECT_NE(std::string(e.what()).find("cudaMalloc: out of memory"), std::string::npos);
}

}  // namespace
}  // namespace limen
