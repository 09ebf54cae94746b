// SPDX-License-Identifier: Apache-2.0
/**
 * @file thread_home.hpp
 * @brief Each thread's home shard: where its stores and frees go in a sharded slot table.
 */
#pragma once

#include <limen/detail/sync_policy.hpp>

#include <atomic>
#include <cstdint>

namespace limen::detail {

/**
 * @brief A stable per-thread home shard (0..MultiThreaded::shard_count - 1).
 *
 * Each thread takes the shard the fewest live threads use, and gives it back
 * when it exits, so up to shard_count threads at once never share a shard
 * (a plain counter would put the 1st and the 9th thread ever started together,
 * however many had exited).
 */
class ThreadHome {
 public:
  ThreadHome() noexcept : shard_(take()) {}
  ~ThreadHome() { users()[shard_].fetch_sub(1, std::memory_order_relaxed); }
  ThreadHome(const ThreadHome&) = delete;
  ThreadHome& operator=(const ThreadHome&) = delete;
  [[nodiscard]] std::uint32_t shard() const noexcept { return shard_; }

 private:
  static constexpr std::uint32_t count = MultiThreaded::shard_count;
  static std::atomic<std::uint32_t>* users() noexcept {
    static std::atomic<std::uint32_t> live[count] = {};
    return live;
  }
  static std::uint32_t take() noexcept {
    std::uint32_t best = 0;
    for (std::uint32_t s = 1; s < count; ++s) {
      if (users()[s].load(std::memory_order_relaxed) <
          users()[best].load(std::memory_order_relaxed)) {
        best = s;
      }
    }
    users()[best].fetch_add(1, std::memory_order_relaxed);
    return best;
  }

  std::uint32_t shard_;
};

/**
 * @brief An address unique to the calling thread while it lives (a slot
 * cache records which thread uses it).
 */
inline const void* this_thread_marker() noexcept {
  thread_local const char marker = 0;
  return &marker;
}

/** @brief This thread's home shard (see ThreadHome). */
inline std::uint32_t this_thread_seed() noexcept {
  thread_local const ThreadHome home;
  return home.shard();
}

}  // namespace limen::detail
