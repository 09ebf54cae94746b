// SPDX-License-Identifier: Apache-2.0
/**
 * @file sync_policy.hpp
 * @brief The two synchronization policies the slot table is written against:
 * one state machine, compiled either with plain words or with std::atomic.
 */
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace limen::detail {

/** @brief Whether a conflicting guard is waited for or reported as AlreadyBorrowed. */
enum class Wait : bool { No, Yes };

/**
 * @brief The subset of std::atomic<T> the slot table uses, as plain loads and stores.
 *
 * `wait` is never reached: single-threaded managers report a conflict
 * (`AlreadyBorrowed`) instead of waiting for a guard that could never end.
 */
template <class T>
class PlainAtomic {
 public:
  constexpr PlainAtomic() noexcept = default;
  constexpr explicit PlainAtomic(T value) noexcept : value_(value) {}

  [[nodiscard]] T load(std::memory_order = std::memory_order_seq_cst) const noexcept {
    return value_;
  }
  void store(T value, std::memory_order = std::memory_order_seq_cst) noexcept { value_ = value; }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order = {},
                             std::memory_order = {}) noexcept {
    if (value_ != expected) {
      expected = value_;
      return false;
    }
    value_ = desired;
    return true;
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order o1 = {},
                               std::memory_order o2 = {}) noexcept {
    return compare_exchange_weak(expected, desired, o1, o2);
  }
  T fetch_add(T delta, std::memory_order = std::memory_order_seq_cst) noexcept {
    T old = value_;
    value_ = static_cast<T>(value_ + delta);
    return old;
  }
  T fetch_sub(T delta, std::memory_order = std::memory_order_seq_cst) noexcept {
    T old = value_;
    value_ = static_cast<T>(value_ - delta);
    return old;
  }
  T fetch_and(T mask, std::memory_order = std::memory_order_seq_cst) noexcept {
    T old = value_;
    value_ = static_cast<T>(value_ & mask);
    return old;
  }
  void wait(T, std::memory_order = std::memory_order_seq_cst) const noexcept {}
  void notify_all() noexcept {}

 private:
  T value_{};
};

/** @brief Policy for managers used from one thread at a time (StaticManager, HeapManager). */
struct SingleThreaded {
  template <class T>
  using Atomic = PlainAtomic<T>;
  /// No other thread ever touches the table: plain words, no read-modify-write.
  static constexpr bool concurrent = false;
  /// Free-list shards; one keeps the original's lowest-cost LIFO.
  static constexpr std::uint32_t shard_count = 1;
  /// Conflicting guards fail with AlreadyBorrowed instead of waiting.
  static constexpr bool can_wait = false;
  static constexpr std::size_t line_align = alignof(std::uint64_t);
};

/** @brief Policy for managers shared between threads (ConcurrentManager, thread_safe backends). */
struct MultiThreaded {
  template <class T>
  using Atomic = std::atomic<T>;
  static constexpr bool concurrent = true;
  /// Free-list shards: each worker pushes and pops its own, so disjoint work never shares a line.
  static constexpr std::uint32_t shard_count = 8;
  static constexpr bool can_wait = true;
  /// One cache line, so per-slot state and per-shard heads never false-share.
  static constexpr std::size_t line_align = 64;
};

}  // namespace limen::detail
