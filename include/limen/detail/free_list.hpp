// SPDX-License-Identifier: Apache-2.0
/**
 * @file free_list.hpp
 * @brief The free-slot stacks of a slot table: one LIFO per shard, lock-free
 * and ABA-safe when shared between threads, a plain index when not.
 */
#pragma once

#include <limen/detail/sync_policy.hpp>

#include <atomic>
#include <cstdint>

namespace limen::detail {

/// The index that ends a stack (and that no token may carry).
inline constexpr std::uint32_t end_of_list = 0xFFFF'FFFFU;

/**
 * @brief One LIFO stack of slot indices, linked through the slots' own `next`
 * words (@p links(i) returns slot i's link).
 *
 * With `MultiThreaded` it is a Treiber stack whose head carries a tag that
 * changes on every push and pop, so a head popped and pushed back meanwhile
 * fails the compare-and-swap instead of installing a stale link. With
 * `SingleThreaded` it is a plain index: no tag, no loop.
 */
template <class Sync>
class FreeStack {
  using Word = std::uint64_t;

 public:
  FreeStack() noexcept { head_.store(pack(0, end_of_list), std::memory_order_relaxed); }

  /** @brief Makes @p first (linked onwards by the caller) the stack's top. */
  void reset(std::uint32_t first) noexcept {
    head_.store(pack(0, first), std::memory_order_relaxed);
  }

  template <class Links>
  [[nodiscard]] std::uint32_t pop(Links links) noexcept {
    Word head = head_.load(std::memory_order_acquire);
    if constexpr (!Sync::concurrent) {
      const auto index = static_cast<std::uint32_t>(head);
      if (index != end_of_list) head_.store(links(index).load(std::memory_order_relaxed));
      return index;
    } else {
      for (;;) {
        const auto index = static_cast<std::uint32_t>(head);
        if (index == end_of_list) return end_of_list;
        const std::uint32_t next = links(index).load(std::memory_order_relaxed);
        if (head_.compare_exchange_weak(head, pack((head >> 32) + 1, next),
                                        std::memory_order_acq_rel, std::memory_order_acquire)) {
          return index;
        }
      }
    }
  }

  template <class Links>
  void push(std::uint32_t index, Links links) noexcept {
    Word head = head_.load(std::memory_order_relaxed);
    if constexpr (!Sync::concurrent) {
      links(index).store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
      head_.store(index, std::memory_order_relaxed);
    } else {
      do {
        links(index).store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
      } while (!head_.compare_exchange_weak(head, pack((head >> 32) + 1, index),
                                            std::memory_order_release, std::memory_order_relaxed));
    }
  }

  /**
   * @brief Pops up to @p max indices into @p out with one exchange and returns
   * how many. With `MultiThreaded`: the chain is read first, then taken with
   * one compare-and-swap; the head's tag changes on every push and pop, so a
   * successful swap proves no link of the chain changed meanwhile.
   */
  template <class Links>
  [[nodiscard]] std::uint32_t pop_chain(std::uint32_t* out, std::uint32_t max,
                                        Links links) noexcept {
    Word head = head_.load(std::memory_order_acquire);
    for (;;) {
      std::uint32_t n = 0;
      std::uint32_t index = static_cast<std::uint32_t>(head);
      while (n < max && index != end_of_list) {
        out[n++] = index;
        index = links(index).load(std::memory_order_relaxed);
      }
      if (n == 0) return 0;
      if constexpr (!Sync::concurrent) {
        head_.store(index);
        return n;
      } else if (head_.compare_exchange_weak(head, pack((head >> 32) + 1, index),
                                             std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
        return n;
      }
    }
  }

  /** @brief Pushes @p count indices of @p items, linked through their own links, with one exchange.
   */
  template <class Links>
  void push_chain(const std::uint32_t* items, std::uint32_t count, Links links) noexcept {
    if (count == 0) return;
    for (std::uint32_t i = 0; i + 1 < count; ++i) {
      links(items[i]).store(items[i + 1], std::memory_order_relaxed);
    }
    Word head = head_.load(std::memory_order_relaxed);
    if constexpr (!Sync::concurrent) {
      links(items[count - 1]).store(static_cast<std::uint32_t>(head));
      head_.store(items[0]);
    } else {
      do {
        links(items[count - 1]).store(static_cast<std::uint32_t>(head), std::memory_order_relaxed);
      } while (!head_.compare_exchange_weak(head, pack((head >> 32) + 1, items[0]),
                                            std::memory_order_release, std::memory_order_relaxed));
    }
  }

 private:
  static constexpr Word pack(Word tag, std::uint32_t index) noexcept { return (tag << 32) | index; }

  typename Sync::template Atomic<Word> head_;
};

}  // namespace limen::detail
