// SPDX-License-Identifier: Apache-2.0
/**
 * @file token.hpp
 * @brief MessageToken: the small handle a manager gives out for a stored message.
 */
#pragma once

#include <limen/config.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>

namespace limen {

/**
 * @brief A 64-bit handle: slot index (low 32 bits) and generation (high 32 bits).
 *
 * The generation makes a token for a freed and reused slot detectable
 * (`StaleToken`) instead of silently aliasing the new message. A token from one
 * manager is meaningless to another. Trivially copyable, usable in kernels.
 */
class MessageToken {
 public:
  /** @brief The invalid token (index and generation all ones). */
  constexpr MessageToken() noexcept = default;
  /** @brief The token for slot @p index holding its @p generation -th message. */
  constexpr MessageToken(std::uint32_t index, std::uint32_t generation) noexcept
      : bits_((static_cast<std::uint64_t>(generation) << 32) | index) {}

  /** @brief The token no manager ever hands out. */
  [[nodiscard]] static constexpr MessageToken invalid() noexcept { return MessageToken{}; }
  /** @brief The token whose bits() are @p bits. */
  [[nodiscard]] static constexpr MessageToken from_bits(std::uint64_t bits) noexcept {
    MessageToken t;
    t.bits_ = bits;
    return t;
  }

  /** @brief The slot index (what a DeviceSlotView is indexed with). */
  [[nodiscard]] LIMEN_HD constexpr std::uint32_t index() const noexcept {
    return static_cast<std::uint32_t>(bits_);
  }
  /** @brief Which message of that slot: it changes every time the slot is reused. */
  [[nodiscard]] LIMEN_HD constexpr std::uint32_t generation() const noexcept {
    return static_cast<std::uint32_t>(bits_ >> 32);
  }
  /** @brief The 64 bits: generation << 32 | index (for queues and hashing). */
  [[nodiscard]] constexpr std::uint64_t bits() const noexcept { return bits_; }
  /** @brief Whether this is invalid(). */
  [[nodiscard]] constexpr bool is_invalid() const noexcept { return bits_ == invalid_bits; }

  /** @brief Same index and generation. */
  friend constexpr bool operator==(MessageToken, MessageToken) noexcept = default;

 private:
  static constexpr std::uint64_t invalid_bits = ~std::uint64_t{0};
  std::uint64_t bits_ = invalid_bits;
};

}  // namespace limen

// Hashes a token by its bits, so tokens can key unordered containers.
/// @cond std_specialization
template <>
struct std::hash<limen::MessageToken> {
  std::size_t operator()(limen::MessageToken t) const noexcept {
    return std::hash<std::uint64_t>{}(t.bits());
  }
};
/// @endcond
