// SPDX-License-Identifier: Apache-2.0
/**
 * @file pending_ring.hpp
 * @brief PendingRing: freed slots whose device work has not finished, oldest first.
 */
#pragma once

#include <limen/detail/fixed_array.hpp>

#include <cstddef>
#include <cstdint>
#include <mutex>

namespace limen::detail {

/**
 * @brief A FIFO of slot indices over preallocated storage (a slot is pending
 * at most once), so deferring a free allocates nothing. Touched only when
 * device work is in flight, so its mutex costs the other paths nothing.
 */
class PendingRing {
 public:
  explicit PendingRing(std::size_t capacity) : slots_(capacity) {}

  void push(std::uint32_t index) {
    std::lock_guard lock(mutex_);
    slots_[(head_ + count_) % slots_.size()] = index;
    ++count_;
  }

  /** @brief Pops oldest slots while @p done says their work finished; calls @p recycle on each. */
  template <class Done, class Recycle>
  void pop_completed(Done done, Recycle recycle) {
    std::lock_guard lock(mutex_);
    while (count_ > 0 && done(slots_[head_])) {
      recycle(slots_[head_]);
      pop_front();
    }
  }

  /** @brief Pops @p index if it is still the oldest pending slot; calls @p recycle on it. */
  template <class Recycle>
  void pop_if_oldest(std::uint32_t index, Recycle recycle) {
    std::lock_guard lock(mutex_);
    if (count_ == 0 || slots_[head_] != index) return;  // another thread recycled it
    recycle(index);
    pop_front();
  }

  /** @brief The oldest pending slot, if any. */
  [[nodiscard]] bool oldest(std::uint32_t& index) {
    std::lock_guard lock(mutex_);
    if (count_ == 0) return false;
    index = slots_[head_];
    return true;
  }

 private:
  void pop_front() noexcept {
    head_ = (head_ + 1) % slots_.size();
    --count_;
  }

  std::mutex mutex_;
  HeapArray<std::uint32_t> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

}  // namespace limen::detail
