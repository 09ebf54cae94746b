// SPDX-License-Identifier: Apache-2.0
/**
 * @file manager_facade.hpp
 * @brief The public manager calls, written once over any storage core.
 */
#pragma once

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
 * @brief CRTP base giving a manager the interface of the `MemoryManager` concept.
 *
 * `Derived` provides `visit_core(f)` (calls `f` with its storage core),
 * `has_core()` (false once moved from), `stored_class()`, `home()` (its
 * free-list shard) and `samples_peak()`; `Derived::read_wait` says whether
 * `read` and `read_mut` wait for a conflicting guard or fail with
 * AlreadyBorrowed. A moved-from manager is empty: capacity 0, every token
 * BadToken, store Unsupported.
 */
template <class Derived, class P>
class ManagerFacade {
 public:
  using payload_type = P;
  using ReadGuard = limen::ReadGuard<P>;
  using WriteGuard = limen::WriteGuard<P>;
  using HeaderGuard = limen::HeaderGuard;

  /** @brief Moves @p message into a free slot and returns its token, or NoFreeSlots. */
  Result<MessageToken> store(Message<P>&& message) {
    if (!self().has_core()) [[unlikely]]
      return MemoryError::Unsupported;
    return self().visit_core([&](auto& core) {
      return core.store(std::move(message), self().home(), self().samples_peak());
    });
  }
  /** @brief Copies @p message into a free slot and returns its token, or NoFreeSlots. */
  Result<MessageToken> store(const Message<P>& message) {
    // Two overloads rather than one by-value parameter: no intermediate message
    // object, the caller's message goes straight into the slot.
    if (!self().has_core()) [[unlikely]]
      return MemoryError::Unsupported;
    return self().visit_core(
        [&](auto& core) { return core.store(message, self().home(), self().samples_peak()); });
  }
  /**
   * @brief Stores every message of @p messages, or none, and returns their
   * tokens in order. NoFreeSlots when fewer slots are free; if a payload's copy
   * throws, the messages already copied are taken back before the exception
   * propagates; a failed batch counts as one failed store; an empty batch does
   * nothing. Needs a copyable payload.
   */
  Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>> messages)
    requires std::copy_constructible<P>
  {
    if (!self().has_core()) [[unlikely]]
      return MemoryError::Unsupported;
    return self().visit_core([&](auto& core) { return core.store_batch(messages, self().home()); });
  }
  /** @brief Shared access to the message @p token names. */
  Result<ReadGuard> read(MessageToken token) const {
    return on_token([&](auto& core) { return core.read(token, Derived::read_wait); });
  }
  /** @brief Exclusive access to the message @p token names. */
  Result<WriteGuard> read_mut(MessageToken token) {
    return on_token([&](auto& core) { return core.read_mut(token, Derived::read_wait); });
  }
  /** @brief Shared access to the header only (never touches device memory). */
  Result<HeaderGuard> peek_header(MessageToken token) const {
    return on_token([&](auto& core) { return core.peek_header(token, Derived::read_wait); });
  }
  /** @brief Releases the slot; BorrowActive while a guard lives, QueueOwned while retained. */
  Result<void> free(MessageToken token) {
    return on_token([&](auto& core) { return core.free(token, self().home()); });
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
    return on_core([](auto& core) { return core.available(); }, std::size_t{0});
  }
  /** @brief Total slots, fixed at construction (0 once moved from). */
  [[nodiscard]] std::size_t capacity() const noexcept {
    return on_core([](auto& core) { return core.capacity(); }, std::size_t{0});
  }
  /** @brief The memory class, fixed at construction. */
  [[nodiscard]] MemoryClass memory_class() const noexcept { return self().stored_class(); }
  /** @brief A snapshot of the counters (all zero once moved from). */
  [[nodiscard]] ManagerStats stats() const noexcept {
    return on_core([](auto& core) { return core.stats(); }, ManagerStats{});
  }

 protected:
  ManagerFacade() = default;

  /** @brief `f(core)`, or BadToken when the manager was moved from. */
  template <class F>
  decltype(auto) on_token(F&& f) const {
    using R = decltype(self().visit_core(f));
    if (!self().has_core()) [[unlikely]]
      return R(MemoryError::BadToken);
    return self().visit_core(std::forward<F>(f));
  }
  template <class F>
  decltype(auto) on_token(F&& f) {
    using R = decltype(self().visit_core(f));
    if (!self().has_core()) [[unlikely]]
      return R(MemoryError::BadToken);
    return self().visit_core(std::forward<F>(f));
  }
  /** @brief `f(core)`, or @p empty when the manager was moved from. */
  template <class F, class R>
  R on_core(F&& f, R empty) const noexcept {
    if (!self().has_core()) [[unlikely]]
      return empty;
    return self().visit_core(std::forward<F>(f));
  }

  Derived& self() noexcept { return static_cast<Derived&>(*this); }
  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};

}  // namespace limen::detail
