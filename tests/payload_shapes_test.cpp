// SPDX-License-Identifier: Apache-2.0
// Payloads of unusual shape in every manager: over-aligned, empty, one byte and
// very large. Each must round-trip through store, read, read_mut and reuse,
// with its alignment kept in every class.
#include "test_support.hpp"

#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace limen::test {
namespace {

/// Every shape offers fill(v) and holds(v), so one test body serves them all.
struct Empty {
  void fill(std::uint8_t) noexcept {}
  [[nodiscard]] bool holds(std::uint8_t) const noexcept { return true; }
};

struct OneByte {
  std::uint8_t value = 0;
  void fill(std::uint8_t v) noexcept { value = v; }
  [[nodiscard]] bool holds(std::uint8_t v) const noexcept { return value == v; }
};

/// Aligned beyond a cache line, and larger than one alignment unit.
struct alignas(256) OverAligned {
  std::uint8_t bytes[300] = {};
  void fill(std::uint8_t v) noexcept {
    for (auto& b : bytes) b = v;
  }
  [[nodiscard]] bool holds(std::uint8_t v) const noexcept {
    for (auto b : bytes) {
      if (b != v) return false;
    }
    return true;
  }
};

/// One MiB: every copy path moves it whole.
struct Large {
  std::uint8_t bytes[std::size_t{1} << 20];
  void fill(std::uint8_t v) noexcept {
    for (auto& b : bytes) b = v;
  }
  [[nodiscard]] bool holds(std::uint8_t v) const noexcept {
    for (auto b : bytes) {
      if (b != v) return false;
    }
    return true;
  }
};

template <class P>
std::unique_ptr<Message<P>> shaped(std::uint8_t v) {
  auto m = std::make_unique<Message<P>>();
  m->payload.fill(v);
  m->sync_size();
  return m;
}

template <class M>
class PayloadShapes : public ::testing::Test {};

template <class P>
using ShapeManagers = ::testing::Types<StaticManager<P, 2>, HeapManager<P>, ConcurrentManager<P>,
                                       PinnedManager<P>, DeviceManager<P>, SharedManager<P>,
                                       ThreadSafe<DeviceManager<P>>, ThreadSafe<SharedManager<P>>,
                                       AnyOf<MemoryKind::Host, P>, AnyOf<MemoryKind::Device, P>>;

template <class... Lists>
struct Concat;
template <class... A, class... B, class... C, class... D>
struct Concat<::testing::Types<A...>, ::testing::Types<B...>, ::testing::Types<C...>,
              ::testing::Types<D...>> {
  using type = ::testing::Types<A..., B..., C..., D...>;
};
using AllShapes = Concat<ShapeManagers<Empty>, ShapeManagers<OneByte>, ShapeManagers<OverAligned>,
                         ShapeManagers<Large>>::type;
TYPED_TEST_SUITE(PayloadShapes, AllShapes);

TYPED_TEST(PayloadShapes, RoundTripKeepsContentAndAlignment) {
  using P = typename TypeParam::payload_type;
  auto m = Maker<TypeParam>::make(2);
  const MessageToken a = m->store(*shaped<P>(1)).value();
  const MessageToken b = m->store(*shaped<P>(2)).value();
  EXPECT_EQ(m->peek_header(a).value()->payload_size_bytes, sizeof(P));
  {
    auto ra = m->read(a).value();
    auto rb = m->read(b).value();
    EXPECT_TRUE(ra->payload.holds(1));
    EXPECT_TRUE(rb->payload.holds(2));
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&ra->payload) % alignof(P), 0U);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&rb->payload) % alignof(P), 0U);
  }
  m->read_mut(a).value()->payload.fill(7);
  EXPECT_TRUE(m->read(a).value()->payload.holds(7));
  EXPECT_TRUE(m->read(b).value()->payload.holds(2));  // the neighbour is untouched
  ASSERT_TRUE(m->free(a).has_value());
  const MessageToken c = m->store(*shaped<P>(9)).value();
  EXPECT_EQ(c.index(), a.index());
  EXPECT_TRUE(m->read(c).value()->payload.holds(9));
  EXPECT_TRUE(m->free(b).has_value());
  EXPECT_TRUE(m->free(c).has_value());
  EXPECT_EQ(m->available(), 2U);
}

}  // namespace
}  // namespace limen::test
