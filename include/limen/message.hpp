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
  static constexpr std::uint32_t first_in_batch_bit = 1U << 0;
  static constexpr std::uint32_t last_in_batch_bit = 1U << 1;
  static constexpr std::uint32_t degrade_allowed_bit = 1U << 2;

  constexpr MessageFlags() noexcept = default;
  [[nodiscard]] static constexpr MessageFlags from_bits(std::uint32_t bits) noexcept {
    MessageFlags f;
    f.bits_ = bits;
    return f;
  }
  [[nodiscard]] constexpr std::uint32_t bits() const noexcept { return bits_; }

  [[nodiscard]] constexpr MessageFlags with(std::uint32_t bit) const noexcept {
    return from_bits(bits_ | bit);
  }
  [[nodiscard]] constexpr MessageFlags without(std::uint32_t bit) const noexcept {
    return from_bits(bits_ & ~bit);
  }
  /** @brief True if any of @p bits is set. */
  [[nodiscard]] constexpr bool contains(std::uint32_t bits) const noexcept {
    return (bits_ & bits) != 0;
  }

  [[nodiscard]] constexpr MessageFlags first_in_batch() const noexcept {
    return with(first_in_batch_bit);
  }
  [[nodiscard]] constexpr MessageFlags last_in_batch() const noexcept {
    return with(last_in_batch_bit);
  }
  [[nodiscard]] constexpr MessageFlags allow_degrade() const noexcept {
    return with(degrade_allowed_bit);
  }
  [[nodiscard]] constexpr bool is_first() const noexcept { return contains(first_in_batch_bit); }
  [[nodiscard]] constexpr bool is_last() const noexcept { return contains(last_in_batch_bit); }
  [[nodiscard]] constexpr bool can_degrade() const noexcept {
    return contains(degrade_allowed_bit);
  }

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
  std::uint64_t trace_id = 0;
  std::uint64_t sequence = 0;
  std::uint64_t creation_tick = 0;
  std::optional<std::uint64_t> deadline_ns;
  QosClass qos = QosClass::BestEffort;
  std::size_t payload_size_bytes = 0;
  MessageFlags flags;
  MemoryClass memory_class;

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
  MessageHeader header;
  P payload;

  Message() = default;
  explicit Message(P p) : header{}, payload(std::move(p)) { sync_size(); }
  Message(MessageHeader h, P p) : header(h), payload(std::move(p)) { sync_size(); }

  /** @brief Recomputes `header.payload_size_bytes` from the payload. */
  void sync_size() { header.payload_size_bytes = payload_bytes(payload); }
};

}  // namespace limen
