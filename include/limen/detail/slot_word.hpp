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
 * | 36     | filling   | a reader is refreshing the slot's host view           |
 * | 37     | fresh     | the host view matches the slot while readers live     |
 * | 38..52 | readers   | live read and header guards                           |
 * | 53     | waiters   | a thread sleeps on this word: releases must notify    |
 * | 54..63 | retains   | outstanding `retain` calls                            |
 *
 * The waiters bit keeps `notify_all` off the uncontended path: libstdc++'s
 * notify on a 64-bit atomic always writes a process-wide shared counter.
 */
#pragma once

#include <limen/detail/sync_policy.hpp>
#include <limen/error.hpp>

#include <atomic>
#include <cstdint>
#include <optional>

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

/** @brief @p w with one reader fewer (the caller knows one is there). */
[[nodiscard]] constexpr std::uint64_t without_reader(std::uint64_t w) noexcept {
  return w - one_reader;
}
/** @brief @p w with its writer gone. */
[[nodiscard]] constexpr std::uint64_t without_writer(std::uint64_t w) noexcept {
  return w & ~writer_bit;
}

/** @brief Ends one guard's access to a slot (see guard.hpp): @p owner and the slot's index. */
using ReleaseFn = void (*)(void* owner, std::uint32_t index) noexcept;

/** @brief Ends a read (or header) guard on a single-threaded table; @p word is the slot's word. */
inline void release_plain_reader(void* word, std::uint32_t) noexcept {
  auto& w = *static_cast<PlainAtomic<std::uint64_t>*>(word);
  w.store(without_reader(w.load()));
}

/** @brief Ends a write guard on a single-threaded table; @p word is the slot's word. */
inline void release_plain_writer(void* word, std::uint32_t) noexcept {
  auto& w = *static_cast<PlainAtomic<std::uint64_t>*>(word);
  w.store(without_writer(w.load()));
}

/** @brief Wakes the threads sleeping on @p w after a release saw the waiters bit (rare). */
[[gnu::cold, gnu::noinline]] inline void wake_sleepers(std::atomic<std::uint64_t>& w) noexcept {
  w.fetch_and(~waiters_bit, std::memory_order_relaxed);
  w.notify_all();
}

/**
 * @brief Ends a read guard on a host slot of a thread-safe table; @p word is
 * the slot's word. One read-modify-write, no loop: only a sleeper (rare) costs
 * more. Every waiter re-checks and re-announces, so clearing the bit loses nobody.
 */
inline void release_atomic_reader(void* word, std::uint32_t) noexcept {
  auto& w = *static_cast<std::atomic<std::uint64_t>*>(word);
  const std::uint64_t old = w.fetch_sub(one_reader, std::memory_order_release);
  if (has(old, waiters_bit)) [[unlikely]]
    wake_sleepers(w);
}

// What a word must match on each fast path, besides the generation and the Occupied phase.
inline constexpr std::uint64_t base_mask = generation_mask | phase_mask;
/// Header guards: no writer.
inline constexpr std::uint64_t header_mask = base_mask | writer_bit;
/// Message guards: no writer, not poisoned, no host-view refresh under way.
inline constexpr std::uint64_t message_mask = header_mask | poisoned_bit | filling_bit;
/// Write guards and leases: nothing else at all.
inline constexpr std::uint64_t exclusive_mask = message_mask | (max_readers << readers_shift);
/// Frees: no guard, no retain (poison does not matter).
inline constexpr std::uint64_t free_mask =
    base_mask | writer_bit | (max_readers << readers_shift) | (max_retains << retains_shift);

/** @brief Why a token of @p generation does not name word @p w's message, if it does not. */
[[nodiscard]] constexpr std::optional<MemoryError> token_error(std::uint32_t generation,
                                                               std::uint64_t w) noexcept {
  if (phase(w) != Phase::Occupied) return MemoryError::NotAllocated;
  if (slot_word::generation(w) != generation) return MemoryError::StaleToken;
  return std::nullopt;
}

/** @brief Why a free of a token of @p generation is refused by word @p w, if it is. */
[[nodiscard]] constexpr std::optional<MemoryError> free_error(std::uint32_t generation,
                                                              std::uint64_t w) noexcept {
  if (auto error = token_error(generation, w)) return error;
  if (has(w, writer_bit) || readers(w) != 0) return MemoryError::BorrowActive;
  if (retains(w) != 0) return MemoryError::QueueOwned;
  return std::nullopt;
}

}  // namespace limen::detail::slot_word

namespace limen::detail {

/** @brief What a shared lock is for: the header only, or the whole message. */
enum class ReadAccess : std::uint8_t { Header, Message, MessageWithHostView };

/**
 * @brief The outcome of a shared lock taken with a host view: the backend-served
 * classes make a slot readable on the host once per group of readers (device:
 * a copy into the pinned shadow; managed: a prefetch and a wait; pinned: a wait
 * for leased work), and the first reader of a group does it (`MustFill`).
 */
enum class HostViewState : std::uint8_t { Ready, MustFill };

/**
 * @brief How a slot word changes under policy @p Sync: compare-and-swap loops
 * and sleeps with `MultiThreaded`, plain stores with `SingleThreaded` (nothing
 * else can see the word between two steps of its one thread).
 */
template <class Sync>
struct WordOps {
  using Word = std::uint64_t;
  using AtomicWord = typename Sync::template Atomic<Word>;

  /**
   * @brief Replaces @p word's value @p w with @p next: a compare-and-swap when
   * shared (false, with @p w refreshed, if another thread changed it), a store alone.
   */
  static bool exchange(AtomicWord& word, Word& w, Word next) noexcept {
    if constexpr (!Sync::concurrent) {
      word.store(next);
      return true;
    } else {
      return word.compare_exchange_weak(w, next, std::memory_order_acquire,
                                        std::memory_order_acquire);
    }
  }

  /**
   * @brief The first step of a free: shared, a compare-and-swap of @p word from
   * the @p usual value straight to @p next (true when it took; otherwise @p w is
   * the value it found); alone, just the load into @p w (false). Shared, no load
   * precedes the compare-and-swap, so it starts as soon as the word's address is
   * known instead of waiting for a load to return first. Only for steps whose
   * usual value is the one exact word (a free: other values mean an error, or
   * a poisoned slot); a read would miss it whenever other readers or retains
   * are there.
   */
  static bool take_usual(AtomicWord& word, Word& w, Word usual, Word next) noexcept {
    if constexpr (!Sync::concurrent) {
      (void)usual;
      (void)next;
      w = word.load();
      return false;
    } else {
      w = usual;
      return word.compare_exchange_strong(w, next, std::memory_order_acquire,
                                          std::memory_order_acquire);
    }
  }

  /**
   * @brief Applies a releasing @p change to @p word atomically and wakes
   * sleepers if any announced themselves. Every waiter re-checks and
   * re-announces, so clearing the bit here loses nobody.
   */
  template <class Change>
  static void update(AtomicWord& word, Change change) noexcept {
    if constexpr (!Sync::concurrent) {
      word.store(change(word.load()));
    } else {
      Word w = word.load(std::memory_order_relaxed);
      while (!word.compare_exchange_weak(w, change(w) & ~slot_word::waiters_bit,
                                         std::memory_order_acq_rel, std::memory_order_relaxed)) {
      }
      if (slot_word::has(w, slot_word::waiters_bit)) word.notify_all();
    }
  }

  /**
   * @brief Announces a sleeper on @p word (seen as @p w), sleeps until it changes,
   * and returns its new value. Only reached with `MultiThreaded`.
   */
  static Word sleep_on(AtomicWord& word, Word w) noexcept {
    const Word announced = w | slot_word::waiters_bit;
    if (w == announced || word.compare_exchange_strong(w, announced, std::memory_order_acquire,
                                                       std::memory_order_acquire)) {
      word.wait(announced, std::memory_order_acquire);
      return word.load(std::memory_order_acquire);
    }
    return w;  // the word changed meanwhile: re-check it
  }
};

}  // namespace limen::detail
