// SPDX-License-Identifier: Apache-2.0
/**
 * @file slot_shards.hpp
 * @brief The sharded half of a slot table: free stacks and counters, one
 * cache line per shard, and the sums `available()` and `stats()` read.
 */
#pragma once

#include <limen/detail/free_list.hpp>
#include <limen/detail/slot_counters.hpp>
#include <limen/detail/sync_policy.hpp>
#include <limen/stats.hpp>

#include <cstddef>
#include <cstdint>
#include <utility>

namespace limen::detail {

/**
 * @brief What one shard's worker writes: its free stack and its counters, on
 * one cache line (with `MultiThreaded`), so threads with different homes
 * never write the same line.
 */
template <class Sync>
struct alignas(Sync::line_align) Shard {
  FreeStack<Sync> free;
  SlotCounters<Sync> counts;
};

/**
 * @brief `Sync::shard_count` shards plus the table-wide high-water mark and
 * pending count. Callers pass a `home`; the shard it picks is the only one a
 * push or a count writes. The free stacks link through the slots' own words,
 * which the caller's @p links(i) returns.
 */
template <class Sync>
class ShardSet {
  using Counters = SlotCounters<Sync>;
  static constexpr std::uint32_t shards = Sync::shard_count;
  static constexpr bool alone = !Sync::concurrent;

 public:
  ShardSet() = default;
  ShardSet(const ShardSet&) = delete;
  ShardSet& operator=(const ShardSet&) = delete;
  /** @brief Single-threaded sets move; @p other is left with zero counters and no free slot. */
  ShardSet(ShardSet&& other) noexcept requires(alone) { take(other); }
  ShardSet& operator=(ShardSet&& other) noexcept requires(alone) {
    take(other);
    return *this;
  }

  /** @brief Makes @p first (linked onwards by the caller) the top of shard 0's stack. */
  void reset(std::uint32_t first) noexcept { shard_[0].free.reset(first); }

  /** @brief Pops from the home shard, then from the others in turn; end_of_list when all empty. */
  template <class Links>
  std::uint32_t pop_any(std::uint32_t home, bool* stole, Links links) noexcept {
    for (std::uint32_t i = 0; i < shards; ++i) {
      const std::uint32_t index = shard_[(home + i) % shards].free.pop(links);
      if (index != end_of_list) [[likely]] {
        if (stole != nullptr) *stole = i != 0;
        return index;
      }
    }
    return end_of_list;
  }
  template <class Links>
  void push(std::uint32_t index, std::uint32_t home, Links links) noexcept {
    shard(home).free.push(index, links);
  }

  void count_store(std::uint32_t home) noexcept { Counters::bump(shard(home).counts.stores); }
  void count_free(std::uint32_t home) noexcept { Counters::bump(shard(home).counts.frees); }
  void count_failed_store(std::uint32_t home) noexcept {
    Counters::bump(shard(home).counts.failed_stores);
  }

  void add_pending() noexcept { pending_.fetch_add(1, std::memory_order_relaxed); }
  void remove_pending() noexcept { pending_.fetch_sub(1, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t pending() const noexcept {
    return pending_.load(std::memory_order_relaxed);
  }

  /** @brief Occupied slots (at most @p capacity); exact whenever no operation is in progress. */
  [[nodiscard]] std::uint64_t in_use(std::size_t capacity) const noexcept {
    if constexpr (alone) {
      // Alone the counters are exact: every store is published, every free counted.
      return shard_[0].counts.stores.load() - shard_[0].counts.frees.load();
    } else {
      std::uint64_t stored = 0;
      std::uint64_t freed = 0;
      // Stores first, frees second: frees counted later only lower the result, so
      // under concurrency it can lag the truth but never exceed it.
      for (const auto& s : shard_) stored += s.counts.stores.load(std::memory_order_acquire);
      for (const auto& s : shard_) freed += s.counts.frees.load(std::memory_order_acquire);
      const std::uint64_t used = stored > freed ? stored - freed : 0;
      return used < capacity ? used : capacity;
    }
  }

  /** @brief Raises the high-water mark to the current `in_use()`. */
  void sample_peak(std::size_t capacity) noexcept {
    const std::uint64_t now = in_use(capacity);
    std::uint64_t peak = peak_.load(std::memory_order_relaxed);
    if constexpr (alone) {
      if (now > peak) peak_.store(now);
    } else {
      while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed,
                                                        std::memory_order_relaxed)) {
      }
    }
  }

  /** @brief A snapshot of the counters (summed over shards). */
  [[nodiscard]] ManagerStats stats(std::size_t capacity) const noexcept {
    ManagerStats out;
    for (const auto& s : shard_) s.counts.add_to(out);
    out.in_use = in_use(capacity);
    out.pending_frees = pending();
    const std::uint64_t peak = peak_.load(std::memory_order_relaxed);
    out.peak_in_use = peak > out.in_use ? peak : out.in_use;
    return out;
  }

 private:
  Shard<Sync>& shard(std::uint32_t home) noexcept { return shard_[home % shards]; }

  void take(ShardSet& other) noexcept {
    for (std::uint32_t s = 0; s < shards; ++s) shard_[s] = std::exchange(other.shard_[s], {});
    peak_ = std::exchange(other.peak_, {});
    pending_ = std::exchange(other.pending_, {});
  }

  Shard<Sync> shard_[shards];
  typename Sync::template Atomic<std::uint64_t> peak_{};
  typename Sync::template Atomic<std::uint64_t> pending_{};
};

}  // namespace limen::detail
