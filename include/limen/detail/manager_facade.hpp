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

#include <cstddef>
#include <cstdint>
#include <utility>

namespace limen::detail {

/**
 * @brief CRTP base giving a manager the interface of the `MemoryManager` concept.
 *
 * `Derived` provides `core()` (the storage engine), `home()` (its free-list
 * shard) and `samples_peak()`; `Derived::read_wait` says whether `read` and
 * `read_mut` wait for a conflicting guard or fail with AlreadyBorrowed.
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
    return core().store(std::move(message), self().home(), self().samples_peak());
  }
  /** @brief Copies @p message into a free slot and returns its token, or NoFreeSlots. */
  Result<MessageToken> store(const Message<P>& message) {
    // Two overloads rather than one by-value parameter: no intermediate message
    // object, the caller's message goes straight into the slot.
    return core().store(message, self().home(), self().samples_peak());
  }
  /** @brief Shared access to the message @p token names. */
  Result<ReadGuard> read(MessageToken token) const {
    return core().read(token, Derived::read_wait);
  }
  /** @brief Exclusive access to the message @p token names. */
  Result<WriteGuard> read_mut(MessageToken token) {
    return core().read_mut(token, Derived::read_wait);
  }
  /** @brief Shared access to the header only (never touches device memory). */
  Result<HeaderGuard> peek_header(MessageToken token) const {
    return core().peek_header(token, Derived::read_wait);
  }
  /** @brief Releases the slot; BorrowActive while a guard lives, QueueOwned while retained. */
  Result<void> free(MessageToken token) { return core().free(token, self().home()); }
  /** @brief Marks @p token as queue-owned: free() fails with QueueOwned until release(). */
  Result<void> retain(MessageToken token) { return core().retain(token); }
  /** @brief Undoes one retain(). */
  Result<void> release(MessageToken token) { return core().release(token); }

  [[nodiscard]] std::size_t available() const noexcept { return core().available(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return core().capacity(); }
  [[nodiscard]] MemoryClass memory_class() const noexcept { return core().memory_class(); }
  [[nodiscard]] ManagerStats stats() const noexcept { return core().stats(); }

 protected:
  ManagerFacade() = default;

 private:
  Derived& self() noexcept { return static_cast<Derived&>(*this); }
  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
  decltype(auto) core() noexcept { return self().core(); }
  decltype(auto) core() const noexcept { return self().core(); }

  friend Derived;
};

}  // namespace limen::detail
