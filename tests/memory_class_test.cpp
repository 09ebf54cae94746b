// SPDX-License-Identifier: Apache-2.0
// MemoryClass, PlacementAcceptance and decide_placement.
#include <limen/memory_class.hpp>

#include <array>
#include <bit>
#include <cstdint>

#include <gtest/gtest.h>

namespace limen {
namespace {

TEST(MemoryClass, DefaultIsHost) {
  EXPECT_EQ(MemoryClass{}, MemoryClass::host());
  EXPECT_EQ(MemoryClass{}.kind(), MemoryKind::Host);
}

TEST(MemoryClass, NamesEachClass) {
  EXPECT_EQ(MemoryClass::host().to_string(), "host");
  EXPECT_EQ(MemoryClass::pinned_host().to_string(), "pinned_host");
  EXPECT_EQ(MemoryClass::device().to_string(), "device:0");
  EXPECT_EQ(MemoryClass::device(15).to_string(), "device:15");
  EXPECT_EQ(MemoryClass::shared().to_string(), "shared");
}

// A MemoryClass copied in from elsewhere (a header in shared memory, a file)
// may hold a kind outside the enum: it names itself "unknown" and no
// acceptance matches it, instead of reading past the table of kinds.
TEST(MemoryClass, AKindOutsideTheEnumIsUnknownNotUndefined) {
  const auto odd = std::bit_cast<MemoryClass>(std::array<std::uint8_t, 2>{7, 0});
  EXPECT_EQ(odd.to_string(), "unknown");
  const auto everything = PlacementAcceptance::from_bits(0xFFFF'FFFFU);
  EXPECT_FALSE(everything.accepts(odd));
  EXPECT_EQ(decide_placement(everything, odd), PlacementDecision::AdaptRequired);
}

TEST(MemoryClass, DeviceOrdinalsZeroToFifteenAreDistinct) {
  for (unsigned o = 0; o <= 15; ++o) {
    const MemoryClass c = MemoryClass::device(o);
    EXPECT_EQ(c.kind(), MemoryKind::Device);
    EXPECT_EQ(c.device_ordinal(), o);
    if (o > 0) {
      EXPECT_NE(c, MemoryClass::device(o - 1));
    }
  }
}

TEST(MemoryClass, OrdinalsAbove15AreRejectedNotMasked) {
  for (unsigned o : {16U, 17U, 31U, 255U, 256U, 272U}) {
    EXPECT_THROW((void)MemoryClass::device(o), MemoryErrorException) << o;
    auto r = MemoryClass::try_device(o);
    ASSERT_FALSE(r.has_value()) << o;
    EXPECT_EQ(r.error(), MemoryError::Unsupported);
  }
  try {
    (void)MemoryClass::device(16);
  } catch (const MemoryErrorException& e) {
    EXPECT_EQ(e.error(), MemoryError::Unsupported);
  }
}

TEST(PlacementAcceptance, DefaultAcceptsHostOnly) {
  const PlacementAcceptance a;
  EXPECT_TRUE(a.accepts(MemoryClass::host()));
  EXPECT_FALSE(a.accepts(MemoryClass::pinned_host()));
  EXPECT_FALSE(a.accepts(MemoryClass::device(0)));
  EXPECT_FALSE(a.accepts(MemoryClass::shared()));
  EXPECT_EQ(a.bits(), 1U);
}

TEST(PlacementAcceptance, BitLayoutMatchesTheContract) {
  EXPECT_EQ(PlacementAcceptance::empty().with_pinned_host().bits(), 1U << 1);
  EXPECT_EQ(PlacementAcceptance::empty().with_device(0).bits(), 1U << 2);
  EXPECT_EQ(PlacementAcceptance::empty().with_device(15).bits(), 1U << 17);
  EXPECT_EQ(PlacementAcceptance::empty().with_all_devices().bits(), 0xFFFFU << 2);
  EXPECT_EQ(PlacementAcceptance::empty().with_shared().bits(), 1U << 18);
  EXPECT_EQ(PlacementAcceptance::from_bits(0xFFFF'FFFFU).bits(), (1U << 19) - 1);
}

TEST(PlacementAcceptance, EachDeviceOrdinalIsItsOwnBit) {
  for (unsigned o = 0; o <= 15; ++o) {
    const auto a = PlacementAcceptance::empty().with_device(o);
    for (unsigned other = 0; other <= 15; ++other) {
      EXPECT_EQ(a.accepts(MemoryClass::device(other)), o == other) << o << " vs " << other;
    }
    EXPECT_FALSE(a.accepts(MemoryClass::host()));
  }
}

TEST(PlacementAcceptance, DeviceOrdinalsAbove15AreRejected) {
  EXPECT_THROW((void)PlacementAcceptance{}.with_device(16), MemoryErrorException);
  auto r = PlacementAcceptance{}.try_with_device(16);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), MemoryError::Unsupported);
  EXPECT_TRUE(PlacementAcceptance{}.try_with_device(15).has_value());
}

TEST(PlacementAcceptance, UnionAndIntersection) {
  const auto host_pinned = PlacementAcceptance::empty().with_host().with_pinned_host();
  const auto pinned_dev = PlacementAcceptance::empty().with_pinned_host().with_device(3);
  const auto both = host_pinned | pinned_dev;
  EXPECT_TRUE(both.accepts(MemoryClass::host()));
  EXPECT_TRUE(both.accepts(MemoryClass::device(3)));
  EXPECT_EQ(both, host_pinned.union_with(pinned_dev));
  const auto common = host_pinned & pinned_dev;
  EXPECT_EQ(common, PlacementAcceptance::exactly(MemoryClass::pinned_host()));
  EXPECT_TRUE(both.contains(common));
  EXPECT_FALSE(common.contains(both));
  EXPECT_TRUE((host_pinned & PlacementAcceptance::exactly(MemoryClass::shared())).is_empty());
}

TEST(PlacementAcceptance, WithAllDevicesAcceptsEveryOrdinal) {
  const auto a = PlacementAcceptance::empty().with_all_devices();
  for (unsigned o = 0; o <= 15; ++o) EXPECT_TRUE(a.accepts(MemoryClass::device(o)));
  EXPECT_FALSE(a.accepts(MemoryClass::shared()));
}

TEST(DecidePlacement, ZeroCopyExactlyWhenAccepted) {
  const auto a = PlacementAcceptance{}.with_device(1);
  EXPECT_EQ(decide_placement(a, MemoryClass::host()), PlacementDecision::ZeroCopy);
  EXPECT_EQ(decide_placement(a, MemoryClass::device(1)), PlacementDecision::ZeroCopy);
  EXPECT_EQ(decide_placement(a, MemoryClass::device(0)), PlacementDecision::AdaptRequired);
  EXPECT_EQ(decide_placement(a, MemoryClass::pinned_host()), PlacementDecision::AdaptRequired);
  static_assert(decide_placement(PlacementAcceptance{}, MemoryClass::host()) ==
                PlacementDecision::ZeroCopy);
}

}  // namespace
}  // namespace limen
