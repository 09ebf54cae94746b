// SPDX-License-Identifier: Apache-2.0
/**
 * @file slot_word.hpp
 * @brief The encoding of one slot's state in a single 64-bit word.
 *
 * Everything a guard or `free` must check at once lives in one word, so one
 * compare-and-swap both validates a token and takes access:
 *
 * | bits   | field     | meaning                                               |
 * |--------|-----------|-------------------------------------------------------|
 * | 0..31  | generation| of the message in (or last in) the slot               |
 * | 32..33 | phase     | Free, Reserved (being built or destroyed), Occupied   |
 * | 34     | writer    | a write guard lives                                   |
 * | 35     | poisoned  | contents untrustworthy (failed device write-back)     |
 * | 36     | filling   | a reader is refreshing the host shadow                |
 * | 37     | fresh     | the host shadow matches the slot while readers live   |
 * | 38..52 | readers   | live read and header guards                           |
 * | 53     | waiters   | a thread sleeps on this word: releases must notify    |
 * | 54..63 | retains   | outstanding `retain` calls                            |
 *
 * The waiters bit keeps `notify_all` off the uncontended path: libstdc++'s
 * notify on a 64-bit atomic always writes a process-wide shared counter.
 */
#pragma once

#include <cstdint>

namespace limen::detail::slot_word {

enum class Phase : std::uint64_t { Free = 0, Reserved = 1, Occupied = 2 };

inline constexpr std::uint64_t generation_mask = 0xFFFF'FFFFULL;
inline constexpr unsigned phase_shift = 32;
inline constexpr std::uint64_t phase_mask = 3ULL << phase_shift;
inline constexpr std::uint64_t writer_bit = 1ULL << 34;
inline constexpr std::uint64_t poisoned_bit = 1ULL << 35;
inline constexpr std::uint64_t filling_bit = 1ULL << 36;
inline constexpr std::uint64_t fresh_bit = 1ULL << 37;
inline constexpr unsigned readers_shift = 38;
inline constexpr std::uint64_t max_readers = 0x7FFF;
inline constexpr std::uint64_t one_reader = 1ULL << readers_shift;
inline constexpr std::uint64_t waiters_bit = 1ULL << 53;
inline constexpr unsigned retains_shift = 54;
inline constexpr std::uint64_t max_retains = 0x3FF;
inline constexpr std::uint64_t one_retain = 1ULL << retains_shift;

[[nodiscard]] constexpr std::uint32_t generation(std::uint64_t w) noexcept {
  return static_cast<std::uint32_t>(w & generation_mask);
}
[[nodiscard]] constexpr Phase phase(std::uint64_t w) noexcept {
  return static_cast<Phase>((w & phase_mask) >> phase_shift);
}
[[nodiscard]] constexpr std::uint64_t readers(std::uint64_t w) noexcept {
  return (w >> readers_shift) & max_readers;
}
[[nodiscard]] constexpr std::uint64_t retains(std::uint64_t w) noexcept {
  return (w >> retains_shift) & max_retains;
}
[[nodiscard]] constexpr bool has(std::uint64_t w, std::uint64_t bit) noexcept {
  return (w & bit) != 0;
}
/** @brief A word with only @p generation and @p phase set. */
[[nodiscard]] constexpr std::uint64_t make(std::uint32_t generation, Phase phase) noexcept {
  return generation | (static_cast<std::uint64_t>(phase) << phase_shift);
}
/** @brief @p w with its phase replaced. */
[[nodiscard]] constexpr std::uint64_t with_phase(std::uint64_t w, Phase phase) noexcept {
  return (w & ~phase_mask) | (static_cast<std::uint64_t>(phase) << phase_shift);
}

}  // namespace limen::detail::slot_word
