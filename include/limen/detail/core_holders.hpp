// SPDX-License-Identifier: Apache-2.0
/**
 * @file core_holders.hpp
 * @brief How a manager holds its storage core: the hooks ManagerFacade calls,
 * written once for each way of holding one (inline, shared, behind a pointer).
 */
#pragma once

#include <limen/detail/sync_policy.hpp>
#include <limen/detail/thread_home.hpp>
#include <limen/memory_class.hpp>

#include <atomic>
#include <concepts>
#include <cstdint>
#include <memory>
#include <utility>

namespace limen::detail {

/**
 * @brief What ManagerFacade needs from the holder it derives from:
 * - `core()`: the storage core (a reference), valid while `has_core()`;
 * - `has_core()`: false once moved from (the facade then refuses every call);
 * - `stored_class()`: the memory class reported;
 * - `home()`: the free-list shard this caller's stores and frees use;
 * - `samples_peak`: whether every store updates the high-water mark;
 * - `read_wait`: whether read() and read_mut() wait for a conflicting guard.
 */
template <class H>
concept CoreHolder = requires(H& h, const H& ch) {
  h.core();
  ch.core();
  { ch.has_core() } -> std::same_as<bool>;
  { ch.stored_class() } -> std::same_as<MemoryClass>;
  { ch.home() } -> std::convertible_to<std::uint32_t>;
  { H::samples_peak } -> std::convertible_to<bool>;
  { H::read_wait } -> std::convertible_to<Wait>;
};

/**
 * @brief The core inside the manager (HeapManager, StaticManager): one load
 * fewer on every call than behind a pointer. Single-threaded: conflicts are
 * reported, never waited for; one shard.
 */
template <class Core>
class InlineCore {
 public:
  static constexpr bool samples_peak = true;
  static constexpr Wait read_wait = Wait::No;

  template <class... Args>
  explicit InlineCore(std::in_place_t, Args&&... args) : core_(std::forward<Args>(args)...) {}

  Core& core() noexcept { return core_; }
  const Core& core() const noexcept { return core_; }
  static constexpr bool has_core() noexcept { return true; }  // a moved-from core is vacant
  [[nodiscard]] MemoryClass stored_class() const noexcept { return core_.memory_class(); }
  static constexpr std::uint32_t home() noexcept { return 0; }

 private:
  Core core_;
};

/**
 * @brief A core shared by several owners (ConcurrentManager, its copies and
 * handles). A moved-from owner points at the core's vacant instance, whose own
 * checks refuse everything. With @p OwnHome (a worker's handle) each holder
 * has its own shard and, where the core can spare slots, its own slot cache,
 * given back when the holder goes; otherwise each calling thread uses its
 * ThreadHome.
 */
template <class Core, bool OwnHome>
class CountedCore {
 public:
  static constexpr bool samples_peak = false;  // sampled: every store would read every shard
  static constexpr Wait read_wait = Wait::Yes;

  CountedCore(std::shared_ptr<Core> core, MemoryClass memory_class) noexcept
      : core_(std::move(core)), class_(memory_class), home_(open_home(*core_)) {}
  /** @brief Shares @p other's core; a handle copy gets a home (and cache) of its own. */
  CountedCore(const CountedCore& other) noexcept
      : core_(other.core_), class_(other.class_), home_(open_home(*core_)) {}
  CountedCore& operator=(const CountedCore& other) noexcept {
    if (this != &other) {
      close_home();
      core_ = other.core_;
      class_ = other.class_;
      home_ = open_home(*core_);
      user_.store(nullptr, std::memory_order_relaxed);
    }
    return *this;
  }
  CountedCore(CountedCore&& other) noexcept
      : core_(std::exchange(other.core_, vacant())),
        class_(other.class_),
        home_(std::exchange(other.home_, 0)),
        user_(other.user_.exchange(nullptr, std::memory_order_relaxed)) {}
  CountedCore& operator=(CountedCore&& other) noexcept {
    if (this != &other) {
      close_home();
      core_ = std::exchange(other.core_, vacant());
      class_ = other.class_;
      home_ = std::exchange(other.home_, 0);
      user_.store(other.user_.exchange(nullptr, std::memory_order_relaxed),
                  std::memory_order_relaxed);
    }
    return *this;
  }
  ~CountedCore() { close_home(); }

  Core& core() const noexcept { return *core_; }
  static constexpr bool has_core() noexcept { return true; }
  [[nodiscard]] MemoryClass stored_class() const noexcept { return class_; }
  [[nodiscard]] std::uint32_t home() const noexcept {
    if constexpr (OwnHome) {
      // The cache is for the first thread that uses it; the handle remembers
      // that it is this one, so its calls skip the core's check.
      const void* me = this_thread_marker();
      if (user_.load(std::memory_order_relaxed) == me) [[likely]]
        return home_;
      const std::uint32_t home = core_->caller_home(home_);
      if (home == home_) user_.store(me, std::memory_order_relaxed);
      return home;
    } else {
      return this_thread_seed();
    }
  }
  /** @brief The shared core itself (to make another holder of it). */
  [[nodiscard]] const std::shared_ptr<Core>& shared_core() const noexcept { return core_; }

 private:
  /** @brief The vacant core, owned by nobody. */
  static std::shared_ptr<Core> vacant() noexcept {
    return std::shared_ptr<Core>(std::shared_ptr<Core>{}, &Core::vacant());
  }
  /** @brief A worker's own shard, and a slot cache when the core can spare one. */
  static std::uint32_t open_home(Core& core) noexcept {
    if constexpr (OwnHome) {
      static std::atomic<std::uint32_t> next{0};
      return core.open_cache(next.fetch_add(1, std::memory_order_relaxed) & 0xFFU);
    } else {
      (void)core;
      return 0;
    }
  }
  void close_home() noexcept {
    if constexpr (OwnHome) core_->close_cache(home_);
  }

  std::shared_ptr<Core> core_;
  MemoryClass class_;
  std::uint32_t home_;
  /// The thread known to use home_ as it is (its cache's user), or null.
  mutable std::atomic<const void*> user_{nullptr};
};

/**
 * @brief A core behind a pointer to an abstract interface (AnyManager and the
 * backend-served managers): one compiled manager for every core type. Moved
 * from, it holds none. Thread-safe cores wait for conflicting guards;
 * single-threaded ones ignore `Wait::Yes` and report AlreadyBorrowed.
 */
template <class Interface>
class OwnedCore {
 public:
  static constexpr bool samples_peak = true;
  static constexpr Wait read_wait = Wait::Yes;

  explicit OwnedCore(std::unique_ptr<Interface> core) noexcept
      : core_(std::move(core)), class_(core_->memory_class()) {}

  Interface& core() const noexcept { return *core_; }
  [[nodiscard]] bool has_core() const noexcept { return core_ != nullptr; }
  /** @brief Gives the core away; the holder is empty afterwards, like a moved-from one. */
  [[nodiscard]] std::unique_ptr<Interface> take_core() noexcept { return std::move(core_); }
  [[nodiscard]] MemoryClass stored_class() const noexcept { return class_; }
  static std::uint32_t home() noexcept { return this_thread_seed(); }

 private:
  std::unique_ptr<Interface> core_;
  MemoryClass class_;
};

}  // namespace limen::detail
