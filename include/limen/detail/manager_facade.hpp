// SPDX-License-Identifier: Apache-2.0
/**
 * @file manager_facade.hpp
 * @brief The public manager calls, written once over any storage core.
 */
#pragma once

#include <limen/detail/core_holders.hpp>
#include <limen/detail/slot_table.hpp>
#include <limen/guard.hpp>
#include <limen/message.hpp>
#include <limen/result.hpp>
#include <limen/stats.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace limen::detail {

/**
 * @brief Builds a manager's heap state, turning an allocation failure into
 * MemoryErrorException(OutOfMemory): constructors never leak std::bad_alloc.
 */
template <class T, class... Args>
std::unique_ptr<T> make_state(Args&&... args) {
  try {
    return std::make_unique<T>(std::forward<Args>(args)...);
  } catch (const std::bad_alloc&) {
    throw MemoryErrorException(MemoryError::OutOfMemory, "the manager's host arrays");
  }
}

/** @brief Runs a throwing manager constructor and returns its outcome as a Result. */
template <class M, class... Args>
Result<M> create_manager(Args&&... args) {
  try {
    return M(std::forward<Args>(args)...);
  } catch (const MemoryErrorException& e) {
    return e.error();
  } catch (const std::bad_alloc&) {
    return MemoryError::OutOfMemory;
  }
}

/**
 * @brief The public calls of the `MemoryManager` concept, written once over
 * the storage core its @p Holder (see core_holders.hpp) holds. A moved-from
 * manager is empty: capacity 0, every token BadToken, store Unsupported.
 */
template <class Holder, class P>
class ManagerFacade : protected Holder {
  static_assert(CoreHolder<Holder>,
                "limen: a manager's holder must provide core(), has_core(), stored_class(), "
                "home(), samples_peak and read_wait (see core_holders.hpp)");

 public:
  using payload_type = P;
  using ReadGuard = limen::ReadGuard<P>;
  using WriteGuard = limen::WriteGuard<P>;
  using HeaderGuard = limen::HeaderGuard;

  /** @brief Moves @p message into a free slot and returns its token, or NoFreeSlots. */
  Result<MessageToken> store(Message<P>&& message) {
    if (!this->has_core()) [[unlikely]]
      return MemoryError::Unsupported;
    return this->core().store(std::move(message), this->home(), Holder::samples_peak);
  }
  /** @brief Copies @p message into a free slot and returns its token, or NoFreeSlots. */
  Result<MessageToken> store(const Message<P>& message) requires std::copy_constructible<P> {
    // Two overloads rather than one by-value parameter: no intermediate message
    // object, the caller's message goes straight into the slot.
    if (!this->has_core()) [[unlikely]]
      return MemoryError::Unsupported;
    return this->core().store(message, this->home(), Holder::samples_peak);
  }
  /**
   * @brief Stores every message of @p messages, or none, and returns their
   * tokens in order. NoFreeSlots when fewer slots are free; if a payload's copy
   * throws, the messages already copied are taken back before the exception
   * propagates; a failed batch counts as one failed store; an empty batch does
   * nothing. Needs a copyable payload.
   */
  Result<std::vector<MessageToken>> store_batch(
      std::span<const Message<P>> messages) requires std::copy_constructible<P> {
    if (!this->has_core()) [[unlikely]]
      return MemoryError::Unsupported;
    return this->core().store_batch(messages, this->home());
  }
  /** @brief Shared access to the message @p token names. */
  Result<ReadGuard> read(MessageToken token) const {
    return on_token([&](auto& core) { return core.read(token, Holder::read_wait); });
  }
  /** @brief Exclusive access to the message @p token names. */
  Result<WriteGuard> read_mut(MessageToken token) {
    return on_token([&](auto& core) { return core.read_mut(token, Holder::read_wait); });
  }
  /** @brief Shared access to the header only (never touches device memory). */
  Result<HeaderGuard> peek_header(MessageToken token) const {
    return on_token([&](auto& core) { return core.peek_header(token, Holder::read_wait); });
  }
  /** @brief Releases the slot; BorrowActive while a guard lives, QueueOwned while retained. */
  Result<void> free(MessageToken token) {
    return on_token([&](auto& core) { return core.free(token, this->home()); });
  }
  /** @brief Marks @p token as queue-owned: free() fails with QueueOwned until release(). */
  Result<void> retain(MessageToken token) {
    return on_token([&](auto& core) { return core.retain(token); });
  }
  /** @brief Undoes one retain(). */
  Result<void> release(MessageToken token) {
    return on_token([&](auto& core) { return core.release(token); });
  }

  /** @brief Slots a store could use now. */
  [[nodiscard]] std::size_t available() const noexcept {
    return this->has_core() ? this->core().available() : 0;
  }
  /** @brief Total slots, fixed at construction (0 once moved from). */
  [[nodiscard]] std::size_t capacity() const noexcept {
    return this->has_core() ? this->core().capacity() : 0;
  }
  /** @brief The memory class, fixed at construction. */
  [[nodiscard]] MemoryClass memory_class() const noexcept { return this->stored_class(); }
  /** @brief A snapshot of the counters (all zero once moved from). */
  [[nodiscard]] ManagerStats stats() const noexcept {
    return this->has_core() ? this->core().stats() : ManagerStats{};
  }

 protected:
  using Holder::Holder;

  /** @brief `f(core)`, or BadToken when the manager was moved from. */
  template <class F>
  decltype(auto) on_token(F&& f) const {
    using R = decltype(f(this->core()));
    if (!this->has_core()) [[unlikely]]
      return R(MemoryError::BadToken);
    return f(this->core());
  }
  template <class F>
  decltype(auto) on_token(F&& f) {
    using R = decltype(f(this->core()));
    if (!this->has_core()) [[unlikely]]
      return R(MemoryError::BadToken);
    return f(this->core());
  }
};

}  // namespace limen::detail
