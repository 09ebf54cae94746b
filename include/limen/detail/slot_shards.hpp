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
#include <limen/detail/thread_home.hpp>
#include <limen/stats.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
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
 * @brief A home names the free-list shard a caller's pushes and counts go to
 * (its low byte); a worker's handle with a slot cache has a home that also
 * names the cache, by the cache's byte offset in its ShardSet (the upper 24
 * bits, never 0 for a cache), so that finding the cache is one shift and one add.
 */
namespace home_bits {
/** @brief @p home's shard with the cache at byte @p offset of its ShardSet. */
[[nodiscard]] constexpr std::uint32_t with_cache(std::uint32_t home,
                                                 std::uint32_t offset) noexcept {
  return (offset << 8) | (home & 0xFFU);
}
[[nodiscard]] constexpr bool has_cache(std::uint32_t home) noexcept {
  return home > 0xFFU;
}
/** @brief The byte offset of @p home's cache in its ShardSet (0: none). */
[[nodiscard]] constexpr std::uint32_t cache_offset(std::uint32_t home) noexcept {
  return home >> 8;
}
/** @brief @p home without its cache: the shard alone. */
[[nodiscard]] constexpr std::uint32_t shard_only(std::uint32_t home) noexcept {
  return home & 0xFFU;
}
}  // namespace home_bits

/**
 * @brief The free slots one worker's handle keeps for itself, and its
 * counters. Only one thread uses a cache (the first that calls through the
 * handle, `user`); only it touches `slots` and `count`, and writes the
 * counters (a load and a store each), which `stats()` reads anywhere. A slot
 * in a cache is free, and no other caller can take it: that is what spares a
 * handle the free list's read-modify-writes.
 */
template <class Sync>
struct alignas(Sync::line_align) SlotCache {
  static constexpr std::uint32_t max_slots = 32;
  std::atomic<bool> taken{false};          ///< a handle holds this cache
  std::atomic<const void*> user{nullptr};  ///< the thread that uses it (this_thread_marker())
  std::uint32_t limit = 0;                 ///< how many slots it may keep (set when taken)
  std::uint32_t count = 0;                 ///< how many it keeps now
  SlotCounters<Sync> counts;
  std::uint32_t slots[max_slots] = {};
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
  using Cache = SlotCache<Sync>;
  /// Handles with a cache at once; later ones work without (on the shared free lists).
  static constexpr std::uint32_t cache_count = alone ? 0 : 32;

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

  void count_store(std::uint32_t home) noexcept {
    if (Cache* c = cache_of(home)) return Counters::bump_owned(c->counts.stores);
    Counters::bump(shard(home).counts.stores);
  }
  void count_free(std::uint32_t home) noexcept {
    if (Cache* c = cache_of(home)) return Counters::bump_owned(c->counts.frees);
    Counters::bump(shard(home).counts.frees);
  }
  void count_failed_store(std::uint32_t home) noexcept {
    if (Cache* c = cache_of(home)) return Counters::bump_owned(c->counts.failed_stores);
    Counters::bump(shard(home).counts.failed_stores);
  }

  /**
   * @brief Takes a free cache for a handle homed at @p home that may keep up
   * to @p limit slots (all open caches together at most @p budget): the
   * handle's new home, naming the cache, or @p home itself when @p limit is 0,
   * the budget is spent or every cache is taken.
   */
  [[nodiscard]] std::uint32_t open_cache(std::uint32_t home, std::uint32_t limit,
                                         std::uint32_t budget) noexcept {
    limit = limit < Cache::max_slots ? limit : Cache::max_slots;
    if (limit == 0) return home;
    // All caches together may keep at most @p budget slots out of everyone else's reach.
    if (cached_limits_.fetch_add(limit, std::memory_order_relaxed) + limit > budget) {
      cached_limits_.fetch_sub(limit, std::memory_order_relaxed);
      return home;
    }
    for (std::uint32_t i = 0; i < cache_count; ++i) {
      bool expected = false;
      if (caches_[i].taken.load(std::memory_order_relaxed) ||
          !caches_[i].taken.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
        continue;
      }
      caches_[i].limit = limit;
      caches_[i].count = 0;
      caches_[i].user.store(nullptr, std::memory_order_relaxed);
      // Sums read caches below this mark only (none at all where no handle ever had one).
      std::uint32_t used = caches_used_.load(std::memory_order_relaxed);
      while (used < i + 1 &&
             !caches_used_.compare_exchange_weak(used, i + 1, std::memory_order_release,
                                                 std::memory_order_relaxed)) {
      }
      const auto offset = reinterpret_cast<const std::byte*>(&caches_[i]) -
                          reinterpret_cast<const std::byte*>(this);
      return home_bits::with_cache(home, static_cast<std::uint32_t>(offset));
    }
    cached_limits_.fetch_sub(limit, std::memory_order_relaxed);
    return home;
  }
  /**
   * @brief The home the calling thread uses: @p home when the cache it names is
   * this thread's (the first thread to call through a handle claims its cache),
   * the shard alone otherwise, so a handle shared between threads stays safe.
   */
  [[nodiscard]] std::uint32_t caller_home(std::uint32_t home) noexcept {
    Cache* c = cache_of(home);
    if (c == nullptr) return home;
    const void* me = this_thread_marker();
    const void* user = c->user.load(std::memory_order_relaxed);
    if (user == me) [[likely]]
      return home;
    if (user == nullptr && c->user.compare_exchange_strong(user, me, std::memory_order_acquire,
                                                           std::memory_order_relaxed)) {
      return home;
    }
    return home_bits::shard_only(home);
  }
  /** @brief Gives a closing handle's cached slots back to its shard (one exchange). */
  template <class Links>
  void close_cache(std::uint32_t home, Links links) noexcept {
    Cache* c = cache_of(home);
    if (c == nullptr) return;
    shard(home).free.push_chain(c->slots, c->count, links);
    c->count = 0;
    c->user.store(nullptr, std::memory_order_relaxed);
    cached_limits_.fetch_sub(c->limit, std::memory_order_relaxed);
    c->taken.store(false, std::memory_order_release);
  }
  /** @brief The cache @p home names, or null. */
  [[nodiscard]] Cache* cache_of(std::uint32_t home) noexcept {
    if constexpr (cache_count == 0) {
      return nullptr;
    } else {
      static_assert(sizeof(ShardSet) < (1U << 24), "a cache's offset must fit a home's 24 bits");
      if (!home_bits::has_cache(home)) return nullptr;
      return std::launder(reinterpret_cast<Cache*>(reinterpret_cast<std::byte*>(this) +
                                                   home_bits::cache_offset(home)));
    }
  }
  /**
   * @brief A slot from @p c, refilled when empty with up to half its limit
   * from the home shard, then the others (one exchange per shard tried);
   * end_of_list when every shard is empty too.
   */
  template <class Links>
  std::uint32_t pop_cached(Cache& c, std::uint32_t home, bool* stole, Links links) noexcept {
    if (c.count == 0) [[unlikely]] {
      if (!refill(c, home, stole, links)) return end_of_list;
    }
    return c.slots[--c.count];
  }
  /** @brief Keeps free slot @p index in @p c; a full cache first gives half back to the shard. */
  template <class Links>
  void push_cached(Cache& c, std::uint32_t index, std::uint32_t home, Links links) noexcept {
    if (c.count == c.limit) [[unlikely]]
      drain_half(c, home, links);
    c.slots[c.count++] = index;
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
      const std::uint32_t cached = caches_used();
      for (const auto& s : shard_) stored += s.counts.stores.load(std::memory_order_acquire);
      for (std::uint32_t i = 0; i < cached; ++i) {
        stored += caches_[i].counts.stores.load(std::memory_order_acquire);
      }
      for (const auto& s : shard_) freed += s.counts.frees.load(std::memory_order_acquire);
      for (std::uint32_t i = 0; i < cached; ++i) {
        freed += caches_[i].counts.frees.load(std::memory_order_acquire);
      }
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

  /** @brief sample_peak() out of line: with shards it reads every shard and cache. */
  [[gnu::noinline]] void sample_peak_sharded(std::size_t capacity) noexcept {
    sample_peak(capacity);
  }

  /** @brief A snapshot of the counters (summed over shards). */
  [[nodiscard]] ManagerStats stats(std::size_t capacity) const noexcept {
    ManagerStats out;
    for (const auto& s : shard_) s.counts.add_to(out);
    for (std::uint32_t i = 0; i < caches_used(); ++i) caches_[i].counts.add_to(out);
    out.in_use = in_use(capacity);
    out.pending_frees = pending();
    const std::uint64_t peak = peak_.load(std::memory_order_relaxed);
    out.peak_in_use = peak > out.in_use ? peak : out.in_use;
    return out;
  }

 private:
  Shard<Sync>& shard(std::uint32_t home) noexcept { return shard_[home % shards]; }

  /// Fills empty cache @p c with up to half its limit from the home shard, then the
  /// others (one exchange per shard tried); false when every shard is empty. Out of
  /// line, so that the usual pop inlines.
  template <class Links>
  [[gnu::noinline]] bool refill(Cache& c, std::uint32_t home, bool* stole, Links links) noexcept {
    const std::uint32_t batch = c.limit > 1 ? c.limit / 2 : 1;
    for (std::uint32_t i = 0; i < shards && c.count == 0; ++i) {
      c.count = shard_[(home + i) % shards].free.pop_chain(c.slots, batch, links);
      if (stole != nullptr) *stole = i != 0;
    }
    return c.count != 0;
  }
  /// Gives the older half of full cache @p c back to the home shard (one exchange).
  template <class Links>
  [[gnu::noinline]] void drain_half(Cache& c, std::uint32_t home, Links links) noexcept {
    const std::uint32_t half = c.count / 2 > 0 ? c.count / 2 : c.count;
    shard(home).free.push_chain(c.slots, half, links);  // the oldest
    for (std::uint32_t i = half; i < c.count; ++i) c.slots[i - half] = c.slots[i];
    c.count -= half;
  }
  /** @brief How many caches any handle ever held (the ones the sums must read). */
  [[nodiscard]] std::uint32_t caches_used() const noexcept {
    if constexpr (cache_count == 0) {
      return 0;
    } else {
      return caches_used_.load(std::memory_order_acquire);
    }
  }

  void take(ShardSet& other) noexcept {
    for (std::uint32_t s = 0; s < shards; ++s) shard_[s] = std::exchange(other.shard_[s], {});
    peak_ = std::exchange(other.peak_, {});
    pending_ = std::exchange(other.pending_, {});
  }

  Shard<Sync> shard_[shards];
  std::array<Cache, cache_count> caches_;
  std::atomic<std::uint32_t> caches_used_{0};
  std::atomic<std::uint32_t> cached_limits_{0};  ///< the open caches' limits, summed
  typename Sync::template Atomic<std::uint64_t> peak_{};
  typename Sync::template Atomic<std::uint64_t> pending_{};
};

}  // namespace limen::detail
