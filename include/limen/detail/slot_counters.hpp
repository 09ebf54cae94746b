// SPDX-License-Identifier: Apache-2.0
/**
 * @file slot_counters.hpp
 * @brief The per-shard operation counters behind `stats()`.
 */
#pragma once

#include <limen/detail/sync_policy.hpp>
#include <limen/stats.hpp>

#include <atomic>
#include <cstdint>

namespace limen::detail {

/**
 * @brief Stores, frees and failed stores counted by the operations of one
 * shard. Each counter has one writer at a time in practice (the shard's
 * worker), so relaxed increments never contend; readers sum all shards.
 */
template <class Sync>
struct SlotCounters {
  typename Sync::template Atomic<std::uint64_t> stores{0};
  typename Sync::template Atomic<std::uint64_t> frees{0};
  typename Sync::template Atomic<std::uint64_t> failed_stores{0};

  static void bump(typename Sync::template Atomic<std::uint64_t>& counter) noexcept {
    if constexpr (Sync::concurrent) {
      counter.fetch_add(1, std::memory_order_relaxed);
    } else {
      counter.store(counter.load() + 1);  // no read-modify-write needed: one thread
    }
  }

  /**
   * @brief Adds one to a counter only its owner writes (a handle's): a load
   * and a store, no read-modify-write, while readers on other threads still
   * see whole values.
   */
  static void bump_owned(typename Sync::template Atomic<std::uint64_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  /** @brief Adds these counters to @p out. */
  void add_to(ManagerStats& out) const noexcept {
    out.stores += stores.load(std::memory_order_relaxed);
    out.frees += frees.load(std::memory_order_relaxed);
    out.failed_stores += failed_stores.load(std::memory_order_relaxed);
  }
};

}  // namespace limen::detail
