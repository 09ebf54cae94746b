// SPDX-License-Identifier: Apache-2.0
/**
 * @file concurrent_manager.hpp
 * @brief ConcurrentManager<P>: thread-safe slots with per-slot guards and a lock-free free list.
 */
#pragma once

#include <limen/detail/concurrent_facade.hpp>
#include <limen/detail/host_core.hpp>
#include <limen/detail/thread_home.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

namespace limen {

template <class P>
class ConcurrentHandle;

namespace detail {
template <class P>
using ConcurrentCore = HostCore<P, MultiThreaded, HeapArray>;
}  // namespace detail

/**
 * @brief A fixed-capacity manager that any number of threads may use at once.
 *
 * Each slot's state is one atomic word (free / occupied with reader count /
 * writer), so reads of different tokens never contend and many readers of one
 * token proceed together. `read` and `read_mut` wait (std::atomic::wait) while
 * a conflicting guard lives; `try_read` / `try_read_mut` return AlreadyBorrowed
 * instead; `free` never waits (BorrowActive / QueueOwned). The free list is a
 * set of lock-free, ABA-safe LIFO stacks, one per shard: each thread pushes and
 * pops its own shard and steals from the others only when that is empty, so
 * disjoint work shares no cache line. Copying the manager shares the storage.
 *
 * `stats().peak_in_use` is sampled, so that no store reads every shard: when a
 * store takes a slot from another shard than its own, and on the first and
 * every 1024th use of each slot. It can lag the true peak (exact while slots
 * are used for the first time, as in most tests).
 *
 * A moved-from manager (or handle) is empty: capacity 0, store returns
 * Unsupported, every token BadToken.
 */
template <class P>
class ConcurrentManager
    : public detail::ConcurrentFacade<detail::CountedCore<detail::ConcurrentCore<P>, false>, P> {
  using Core = detail::ConcurrentCore<P>;
  using Base = detail::ConcurrentFacade<detail::CountedCore<Core, false>, P>;

 public:
  /**
   * @brief @p capacity host slots, named @p name in NVTX ranges.
   *
   * Throws MemoryErrorException: Unsupported above 2^32 - 2 slots or when the
   * size in bytes overflows, OutOfMemory when the host cannot allocate it.
   */
  explicit ConcurrentManager(std::size_t capacity, MemoryClass memory_class = MemoryClass::host(),
                             std::string_view name = "limen")
      : Base(detail::make_state<Core>(capacity, memory_class, name), memory_class) {}

  /** @brief Another owner of the same storage (handles and copies share it). */
  ConcurrentManager(const ConcurrentManager&) = default;
  /** @brief Becomes another owner of @p other's storage, giving up this one's share. */
  ConcurrentManager& operator=(const ConcurrentManager&) = default;
  /** @brief Takes @p other's share of the storage; @p other is empty afterwards. */
  ConcurrentManager(ConcurrentManager&& other) noexcept = default;
  /** @brief Takes @p other's share of the storage; @p other is empty afterwards. */
  ConcurrentManager& operator=(ConcurrentManager&& other) noexcept = default;
  /** @brief Gives up this owner's share of the storage (the last owner frees it). */
  ~ConcurrentManager() = default;

  /** @brief Builds the manager, or returns why not (Unsupported, OutOfMemory); never throws. */
  [[nodiscard]] static Result<ConcurrentManager> create(
      std::size_t capacity, MemoryClass memory_class = MemoryClass::host(),
      std::string_view name = "limen") {
    return detail::create_manager<ConcurrentManager>(capacity, memory_class, name);
  }

  /**
   * @brief A per-worker handle sharing this manager's storage.
   *
   * The handle keeps the storage alive and has its own free-list shard and
   * counters and, with 16 slots or more, a cache of up to capacity / 16 (at
   * most 32) free slots, so a worker that stores and frees
   * through its handle touches only its own lines and makes no atomic
   * operation but the slot's own (see ConcurrentHandle). Up to 32 handles at a
   * time get a cache. Making one costs one shared_ptr copy and claiming a cache.
   * Slots in a cache are free but out of other callers' reach: a store
   * elsewhere can return NoFreeSlots while available() is higher, by at most
   * capacity / 2 over all caches.
   */
  [[nodiscard]] ConcurrentHandle<P> scoped_handle() const;
};

/**
 * @brief A worker's handle on a ConcurrentManager: the same calls, its own
 * free-list shard, counters and slot cache.
 *
 * Safe to use from any thread, like the manager; meant for one worker. The
 * first thread that stores or frees through the handle gets its cache (other
 * threads calling through the same handle use the shared free list, as the
 * manager does). A copy is a new handle with its own cache. The slots a
 * handle frees stay in its cache for its next stores, whoever stored them;
 * a full cache gives its older half back to the handle's free-list shard in
 * one exchange, and an empty one refills with up to half its limit at once
 * (from its own shard first, then the others), so the slots a consumer frees
 * reach its producer in batches. A handle that only frees keeps up to its
 * limit of them until it frees more or is destroyed. While a cache holds
 * free slots nobody else can take them: another store may return NoFreeSlots
 * while available() (which counts them) is higher, by at most capacity / 2
 * over all caches together. The handle's destruction gives them back.
 * stats() stays exact.
 */
template <class P>
class ConcurrentHandle
    : public detail::ConcurrentFacade<detail::CountedCore<detail::ConcurrentCore<P>, true>, P> {
  using Core = detail::ConcurrentCore<P>;
  using Base = detail::ConcurrentFacade<detail::CountedCore<Core, true>, P>;
  friend class ConcurrentManager<P>;

 public:
  /** @brief A handle on the same storage (handles are scoped_handle()s themselves). */
  [[nodiscard]] ConcurrentHandle scoped_handle() const {
    return ConcurrentHandle(this->shared_core(), this->stored_class());
  }

  /** @brief Another handle on the same storage, with a shard and a cache of its own. */
  ConcurrentHandle(const ConcurrentHandle&) = default;
  /** @brief Becomes a handle on @p other's storage, giving up this one's share. */
  ConcurrentHandle& operator=(const ConcurrentHandle&) = default;
  /** @brief Takes @p other's share of the storage; @p other is empty afterwards. */
  ConcurrentHandle(ConcurrentHandle&& other) noexcept = default;
  /** @brief Takes @p other's share of the storage; @p other is empty afterwards. */
  ConcurrentHandle& operator=(ConcurrentHandle&& other) noexcept = default;
  /** @brief Gives the handle's cached slots back and its share of the storage up. */
  ~ConcurrentHandle() = default;

 private:
  ConcurrentHandle(std::shared_ptr<Core> core, MemoryClass memory_class)
      : Base(std::move(core), memory_class) {}
};

template <class P>
ConcurrentHandle<P> ConcurrentManager<P>::scoped_handle() const {
  return ConcurrentHandle<P>(this->shared_core(), this->stored_class());
}

}  // namespace limen
