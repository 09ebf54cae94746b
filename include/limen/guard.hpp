// SPDX-License-Identifier: Apache-2.0
/**
 * @file guard.hpp
 * @brief The RAII guards every manager hands out: HeaderGuard, ReadGuard<P>, WriteGuard<P>.
 */
#pragma once

#include <limen/detail/slot_word.hpp>
#include <limen/detail/sync_policy.hpp>
#include <limen/message.hpp>

#include <cstdint>
#include <utility>

namespace limen {
namespace detail {

/**
 * @brief Ends one guard's access to slot @p index of the manager state @p
 * owner. The host tables' releases (slot_word.hpp) take the slot's word as
 * the owner; guards recognise them and call them directly, so the compiler
 * inlines them wherever it sees the guard made, instead of calling through
 * the pointer.
 */
using ReleaseFn = slot_word::ReleaseFn;

/**
 * @brief A move-only access to a `T` in a slot, released exactly once.
 *
 * Every manager uses this one shape: the owner and a release function chosen
 * by the manager (plain borrow release, device write-back, ...). That makes
 * guards from `AnyManager` the same types as guards from concrete managers.
 */
template <class T>
class SlotGuard {
 public:
  SlotGuard(T* target, void* owner, std::uint32_t index, ReleaseFn release) noexcept
      : target_(target), owner_(owner), release_(release), index_(index) {}

  SlotGuard(SlotGuard&& other) noexcept
      : target_(std::exchange(other.target_, nullptr)),
        owner_(other.owner_),
        release_(std::exchange(other.release_, nullptr)),
        index_(other.index_) {}

  SlotGuard& operator=(SlotGuard&& other) noexcept {
    if (this != &other) {
      reset();
      target_ = std::exchange(other.target_, nullptr);
      owner_ = other.owner_;
      release_ = std::exchange(other.release_, nullptr);
      index_ = other.index_;
    }
    return *this;
  }

  SlotGuard(const SlotGuard&) = delete;
  SlotGuard& operator=(const SlotGuard&) = delete;
  [[gnu::always_inline]] ~SlotGuard() { reset(); }

  /**
   * @brief Ends the access now; the guard is empty afterwards. Always inlined:
   * it is a handful of instructions, and only inlined can the compiler see
   * which release it runs.
   */
  [[gnu::always_inline]] void reset() noexcept {
    const ReleaseFn release = std::exchange(release_, nullptr);
    target_ = nullptr;
    if (release == &slot_word::release_plain_reader) {
      slot_word::release_plain_reader(owner_, index_);
    } else if (release == &slot_word::release_plain_writer) {
      slot_word::release_plain_writer(owner_, index_);
    } else if (release == &slot_word::release_atomic_reader) {
      slot_word::release_atomic_reader(owner_, index_);
    } else if (release != nullptr) {
      release(owner_, index_);
    }
  }

  /** @brief Whether the guard still holds its access. */
  [[nodiscard]] explicit operator bool() const noexcept { return target_ != nullptr; }

  [[nodiscard]] T& operator*() const noexcept { return *target_; }
  [[nodiscard]] T* operator->() const noexcept { return target_; }
  [[nodiscard]] T* get() const noexcept { return target_; }
  /** @brief The slot index the guard holds. */
  [[nodiscard]] std::uint32_t index() const noexcept { return index_; }

 private:
  T* target_;
  void* owner_;
  ReleaseFn release_;
  std::uint32_t index_;
};

}  // namespace detail

/** @brief Shared access to a stored message's header only; never touches device memory. */
using HeaderGuard = detail::SlotGuard<const MessageHeader>;

/** @brief Shared access to a stored message; other readers may hold the same slot. */
template <class P>
using ReadGuard = detail::SlotGuard<const Message<P>>;

/**
 * @brief Exclusive access to a stored message; changes are visible to later reads
 * (device-backed managers copy them back when the guard ends).
 */
template <class P>
using WriteGuard = detail::SlotGuard<Message<P>>;

}  // namespace limen
