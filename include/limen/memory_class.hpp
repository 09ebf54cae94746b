// SPDX-License-Identifier: Apache-2.0
/**
 * @file memory_class.hpp
 * @brief Where a manager keeps its slots (MemoryClass) and which classes a
 * consumer accepts without a copy (PlacementAcceptance).
 */
#pragma once

#include <limen/error.hpp>
#include <limen/result.hpp>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>

namespace limen {

/** @brief The four kinds of memory a manager can live in. */
enum class MemoryKind : std::uint8_t { Host, PinnedHost, Device, Shared };

/** @brief The highest device ordinal limen addresses (16 devices: 0..15). */
inline constexpr std::uint8_t max_device_ordinal = 15;

class MemoryClass;

namespace detail {

/**
 * @brief What limen knows about one memory kind. Every per-kind decision
 * reads its row in kind_table (a new kind is a new row; see the README,
 * "Adding a memory class").
 */
struct KindTraits {
  MemoryKind kind;              ///< the row's kind (rows are in enum order)
  const char* name;             ///< MemoryClass::to_string() and the NVTX category's name
  std::uint32_t nvtx_category;  ///< the NVTX category of the kind's ranges and marks
  bool has_ordinal;             ///< a class per device ordinal ("device:N")
  bool backend_served;          ///< slots served by a device backend (BackendManager), not host
  std::uint32_t placement_bit;  ///< PlacementAcceptance's bit (shifted by the ordinal if any)
};

/** @brief One row per MemoryKind, in enum order. */
inline constexpr KindTraits kind_table[] = {
    {MemoryKind::Host, "host", 1, false, false, 1U << 0},
    {MemoryKind::PinnedHost, "pinned_host", 2, false, true, 1U << 1},
    {MemoryKind::Device, "device", 3, true, true, 1U << 2},  // bits 2..17, one per ordinal
    {MemoryKind::Shared, "shared", 4, false, true, 1U << 18},
};
inline constexpr std::size_t kind_count = std::size(kind_table);

/** @brief The row for a MemoryKind value outside the enum (bytes from elsewhere). */
inline constexpr KindTraits unknown_kind = {MemoryKind::Host, "unknown", 0, false, false, 0};

/** @brief @p kind's row of kind_table (unknown_kind for a value outside the enum). */
[[nodiscard]] constexpr const KindTraits& kind_traits(MemoryKind kind) noexcept {
  const auto row = static_cast<std::size_t>(kind);
  return row < kind_count ? kind_table[row] : unknown_kind;
}

constexpr bool kind_table_in_enum_order() noexcept {
  for (std::size_t i = 0; i < kind_count; ++i) {
    if (static_cast<std::size_t>(kind_table[i].kind) != i) return false;
  }
  return true;
}
static_assert(kind_table_in_enum_order(), "limen: kind_table rows must follow MemoryKind's order");

constexpr bool kind_table_categories_unique() noexcept {
  for (std::size_t i = 0; i < kind_count; ++i) {
    for (std::size_t j = i + 1; j < kind_count; ++j) {
      if (kind_table[i].nvtx_category == kind_table[j].nvtx_category) return false;
    }
  }
  return true;
}
static_assert(kind_table_categories_unique(), "limen: each kind needs its own NVTX category");

constexpr Result<MemoryClass> memory_class_for(MemoryKind kind, unsigned device) noexcept;

}  // namespace detail

/**
 * @brief A memory class: a kind plus, for `Device`, the device ordinal.
 *
 * A value type, fixed per manager at construction. Ordinals above 15 are
 * rejected (`device()` throws, `try_device()` returns `Unsupported`); they are
 * never masked onto a smaller ordinal.
 */
class MemoryClass {
 public:
  /** @brief Ordinary host memory; the default. */
  constexpr MemoryClass() noexcept = default;

  /** @brief Ordinary (pageable) host memory. */
  [[nodiscard]] static constexpr MemoryClass host() noexcept { return {MemoryKind::Host, 0}; }
  /** @brief Page-locked host memory, mapped into the device address space. */
  [[nodiscard]] static constexpr MemoryClass pinned_host() noexcept {
    return {MemoryKind::PinnedHost, 0};
  }
  /** @brief CUDA managed memory, migrated between host and device on demand. */
  [[nodiscard]] static constexpr MemoryClass shared() noexcept { return {MemoryKind::Shared, 0}; }

  /**
   * @brief Device memory on GPU @p ordinal; throws MemoryErrorException if ordinal > 15.
   *
   * Takes `unsigned` rather than `std::uint8_t` so that 256 or -1 are rejected
   * instead of being silently narrowed onto a valid ordinal.
   */
  [[nodiscard]] static MemoryClass device(unsigned ordinal = 0) {
    return try_device(ordinal).value();
  }

  /** @brief Device memory on GPU @p ordinal, or `Unsupported` if ordinal > 15. */
  [[nodiscard]] static constexpr Result<MemoryClass> try_device(unsigned ordinal) noexcept {
    if (ordinal > max_device_ordinal) return MemoryError::Unsupported;
    return MemoryClass{MemoryKind::Device, static_cast<std::uint8_t>(ordinal)};
  }

  /** @brief The kind of memory. */
  [[nodiscard]] constexpr MemoryKind kind() const noexcept { return kind_; }
  /** @brief The device ordinal; 0 for every kind but Device. */
  [[nodiscard]] constexpr std::uint8_t device_ordinal() const noexcept { return ordinal_; }

  /** @brief "host", "pinned_host", "device:N" or "shared" (the kind's name in kind_table). */
  [[nodiscard]] std::string to_string() const;

  /** @brief Same kind and, for Device, the same ordinal. */
  friend constexpr bool operator==(MemoryClass, MemoryClass) noexcept = default;

 private:
  friend constexpr Result<MemoryClass> detail::memory_class_for(MemoryKind, unsigned) noexcept;
  constexpr MemoryClass(MemoryKind kind, std::uint8_t ordinal) noexcept
      : kind_(kind), ordinal_(ordinal) {}

  MemoryKind kind_ = MemoryKind::Host;
  std::uint8_t ordinal_ = 0;
};

namespace detail {
/**
 * @brief The memory class a manager of @p kind on device @p device reports:
 * the device's own class for kinds with an ordinal, the kind's class
 * otherwise. Unsupported when @p device is above max_device_ordinal (for
 * every kind: the ordinal also picks the GPU that serves pinned and managed
 * memory).
 */
constexpr Result<MemoryClass> memory_class_for(MemoryKind kind, unsigned device) noexcept {
  if (device > max_device_ordinal) return MemoryError::Unsupported;
  const auto ordinal = static_cast<std::uint8_t>(kind_traits(kind).has_ordinal ? device : 0);
  return MemoryClass(kind, ordinal);
}
}  // namespace detail

/** @brief Whether data in the current class can be used as is, or must be copied. */
enum class PlacementDecision : std::uint8_t { ZeroCopy, AdaptRequired };

/**
 * @brief The set of memory classes a consumer accepts without a copy.
 *
 * 32 bits: bit 0 Host, bit 1 PinnedHost, bits 2..17 Device(0..15), bit 18
 * Shared. A default-constructed set accepts Host only.
 */
class PlacementAcceptance {
 public:
  constexpr PlacementAcceptance() noexcept = default;

  /** @brief The set that accepts nothing. */
  [[nodiscard]] static constexpr PlacementAcceptance empty() noexcept { return from_bits(0); }
  /** @brief A set from raw bits; bits 19..31 are dropped. */
  [[nodiscard]] static constexpr PlacementAcceptance from_bits(std::uint32_t bits) noexcept {
    PlacementAcceptance a;
    a.bits_ = bits & valid_mask;
    return a;
  }
  /** @brief The set holding exactly @p c. */
  [[nodiscard]] static constexpr PlacementAcceptance exactly(MemoryClass c) noexcept {
    return from_bits(bit_of(c));
  }

  /** @brief The set as bits (see the class description). */
  [[nodiscard]] constexpr std::uint32_t bits() const noexcept { return bits_; }
  /** @brief Whether the set accepts nothing. */
  [[nodiscard]] constexpr bool is_empty() const noexcept { return bits_ == 0; }

  /** @brief This set plus Host. */
  [[nodiscard]] constexpr PlacementAcceptance with_host() const noexcept {
    return from_bits(bits_ | host_bit);
  }
  /** @brief This set plus PinnedHost. */
  [[nodiscard]] constexpr PlacementAcceptance with_pinned_host() const noexcept {
    return from_bits(bits_ | pinned_bit);
  }
  /** @brief Adds Device(@p ordinal); throws MemoryErrorException if ordinal > 15. */
  [[nodiscard]] PlacementAcceptance with_device(unsigned ordinal) const {
    return try_with_device(ordinal).value();
  }
  /** @brief Adds Device(@p ordinal), or `Unsupported` if ordinal > 15. */
  [[nodiscard]] constexpr Result<PlacementAcceptance> try_with_device(
      unsigned ordinal) const noexcept {
    if (ordinal > max_device_ordinal) return MemoryError::Unsupported;
    return from_bits(bits_ | (device_bit0 << ordinal));
  }
  /** @brief This set plus Device(0..15). */
  [[nodiscard]] constexpr PlacementAcceptance with_all_devices() const noexcept {
    return from_bits(bits_ | all_devices_mask);
  }
  /** @brief This set plus Shared. */
  [[nodiscard]] constexpr PlacementAcceptance with_shared() const noexcept {
    return from_bits(bits_ | shared_bit);
  }

  /** @brief Whether @p c is in the set. */
  [[nodiscard]] constexpr bool accepts(MemoryClass c) const noexcept {
    return (bits_ & bit_of(c)) != 0;
  }
  /** @brief Whether every class in @p other is also in this set. */
  [[nodiscard]] constexpr bool contains(PlacementAcceptance other) const noexcept {
    return (bits_ & other.bits_) == other.bits_;
  }
  /** @brief The classes in this set or in @p o. */
  [[nodiscard]] constexpr PlacementAcceptance union_with(PlacementAcceptance o) const noexcept {
    return from_bits(bits_ | o.bits_);
  }
  /** @brief The classes in both this set and @p o. */
  [[nodiscard]] constexpr PlacementAcceptance intersect(PlacementAcceptance o) const noexcept {
    return from_bits(bits_ & o.bits_);
  }
  /** @brief `a.union_with(b)`. */
  friend constexpr PlacementAcceptance operator|(PlacementAcceptance a,
                                                 PlacementAcceptance b) noexcept {
    return a.union_with(b);
  }
  /** @brief `a.intersect(b)`. */
  friend constexpr PlacementAcceptance operator&(PlacementAcceptance a,
                                                 PlacementAcceptance b) noexcept {
    return a.intersect(b);
  }
  /** @brief Whether both sets hold the same classes. */
  friend constexpr bool operator==(PlacementAcceptance, PlacementAcceptance) noexcept = default;

 private:
  static constexpr std::uint32_t host_bit = detail::kind_traits(MemoryKind::Host).placement_bit;
  static constexpr std::uint32_t pinned_bit =
      detail::kind_traits(MemoryKind::PinnedHost).placement_bit;
  static constexpr std::uint32_t device_bit0 =
      detail::kind_traits(MemoryKind::Device).placement_bit;
  static constexpr std::uint32_t all_devices_mask = 0xFFFFU * device_bit0;
  static constexpr std::uint32_t shared_bit = detail::kind_traits(MemoryKind::Shared).placement_bit;
  /// Every row's bit (across its ordinals, for kinds that have them).
  static constexpr std::uint32_t valid_mask = [] {
    std::uint32_t mask = 0;
    for (const detail::KindTraits& row : detail::kind_table) {
      mask |= row.has_ordinal ? 0xFFFFU * row.placement_bit : row.placement_bit;
    }
    return mask;
  }();

  static constexpr std::uint32_t bit_of(MemoryClass c) noexcept {
    const detail::KindTraits& row = detail::kind_traits(c.kind());
    return row.placement_bit << (row.has_ordinal ? c.device_ordinal() : 0);
  }

  std::uint32_t bits_ = host_bit;
};

/** @brief `ZeroCopy` exactly when @p acceptance accepts @p current. */
[[nodiscard]] constexpr PlacementDecision decide_placement(PlacementAcceptance acceptance,
                                                           MemoryClass current) noexcept {
  return acceptance.accepts(current) ? PlacementDecision::ZeroCopy
                                     : PlacementDecision::AdaptRequired;
}

}  // namespace limen
