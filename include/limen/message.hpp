// SPDX-License-Identifier: Apache-2.0
/**
 * @file message.hpp
 * @brief MessageHeader, MessageFlags, QosClass and Message<P>: what a slot holds.
 */
#pragma once

#include <limen/memory_class.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

namespace limen {

/** @brief Quality-of-service class, ordered by number (higher is more urgent). */
enum class QosClass : std::uint8_t { Background = 1, BestEffort = 2, LatencyCritical = 3 };

/** @brief Batch boundaries and the degrade hint, as a 32-bit set. */
class MessageFlags {
 public:
  static constexpr std::uint32_t first_in_batch_bit = 1U << 0;   ///< the first message of a batch
  static constexpr std::uint32_t last_in_batch_bit = 1U << 1;    ///< the last message of a batch
  static constexpr std::uint32_t degrade_allowed_bit = 1U << 2;  ///< consumers may degrade it

  /** @brief No flag set. */
  constexpr MessageFlags() noexcept = default;
  /** @brief The flags @p bits (any of the *_bit constants, or'ed). */
  [[nodiscard]] static constexpr MessageFlags from_bits(std::uint32_t bits) noexcept {
    MessageFlags f;
    f.bits_ = bits;
    return f;
  }
  /** @brief The flags as bits. */
  [[nodiscard]] constexpr std::uint32_t bits() const noexcept { return bits_; }

  /** @brief These flags plus @p bit. */
  [[nodiscard]] constexpr MessageFlags with(std::uint32_t bit) const noexcept {
    return from_bits(bits_ | bit);
  }
  /** @brief These flags minus @p bit. */
  [[nodiscard]] constexpr MessageFlags without(std::uint32_t bit) const noexcept {
    return from_bits(bits_ & ~bit);
  }
  /** @brief True if any of @p bits is set. */
  [[nodiscard]] constexpr bool contains(std::uint32_t bits) const noexcept {
    return (bits_ & bits) != 0;
  }

  /** @brief These flags, marked first in their batch. */
  [[nodiscard]] constexpr MessageFlags first_in_batch() const noexcept {
    return with(first_in_batch_bit);
  }
  /** @brief These flags, marked last in their batch. */
  [[nodiscard]] constexpr MessageFlags last_in_batch() const noexcept {
    return with(last_in_batch_bit);
  }
  /** @brief These flags, allowing consumers to degrade the message. */
  [[nodiscard]] constexpr MessageFlags allow_degrade() const noexcept {
    return with(degrade_allowed_bit);
  }
  /** @brief Whether the message is first in its batch. */
  [[nodiscard]] constexpr bool is_first() const noexcept { return contains(first_in_batch_bit); }
  /** @brief Whether the message is last in its batch. */
  [[nodiscard]] constexpr bool is_last() const noexcept { return contains(last_in_batch_bit); }
  /** @brief Whether consumers may degrade the message. */
  [[nodiscard]] constexpr bool can_degrade() const noexcept {
    return contains(degrade_allowed_bit);
  }

  /** @brief The same bits set. */
  friend constexpr bool operator==(MessageFlags, MessageFlags) noexcept = default;

 private:
  std::uint32_t bits_ = 0;
};

/**
 * @brief Per-message metadata. An aggregate; value-initialised it is "empty".
 *
 * `payload_size_bytes` is set by `Message`'s constructors; `memory_class` is
 * set by the manager that stores the message, so it always says where the
 * payload really lives.
 */
struct MessageHeader {
  std::uint64_t trace_id = 0;                ///< correlates messages of one trace
  std::uint64_t sequence = 0;                ///< the producer's sequence number
  std::uint64_t creation_tick = 0;           ///< when the producer made it (its own clock)
  std::optional<std::uint64_t> deadline_ns;  ///< when it must be consumed by, if ever
  QosClass qos = QosClass::BestEffort;       ///< how urgent it is
  std::size_t payload_size_bytes = 0;        ///< set from the payload by Message's constructors
  MessageFlags flags;                        ///< batch boundaries and the degrade hint
  MemoryClass memory_class;                  ///< where the payload lives (set by the manager)

  /** @brief Every field equal. */
  friend bool operator==(const MessageHeader&, const MessageHeader&) = default;
};

/** @brief A payload type that reports its own size with `payload_bytes()`. */
template <class P>
concept SelfSizedPayload = requires(const P& p) {
  { p.payload_bytes() } -> std::convertible_to<std::size_t>;
};

/** @brief The payload's size in bytes: `p.payload_bytes()` if P has it, else `sizeof(P)`. */
template <class P>
[[nodiscard]] constexpr std::size_t payload_bytes(const P& payload) {
  if constexpr (SelfSizedPayload<P>) {
    return static_cast<std::size_t>(payload.payload_bytes());
  } else {
    return sizeof(P);
  }
}

/**
 * @brief A header plus a payload: the unit a manager stores.
 *
 * Both constructors set `header.payload_size_bytes = payload_bytes(payload)`;
 * the other header fields are kept as given.
 */
template <class P>
struct Message {
  MessageHeader header;  ///< the metadata
  P payload;             ///< the data

  /** @brief A value-initialised header and a default payload. */
  Message() = default;
  /** @brief @p p with an empty header (its size set). */
  explicit Message(P p) : header{}, payload(std::move(p)) { sync_size(); }
  /** @brief @p p with header @p h (its size set from @p p). */
  Message(MessageHeader h, P p) : header(h), payload(std::move(p)) { sync_size(); }

  /** @brief Recomputes `header.payload_size_bytes` from the payload. */
  void sync_size() { header.payload_size_bytes = payload_bytes(payload); }
};

}  // namespace limen
