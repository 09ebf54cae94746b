// SPDX-License-Identifier: Apache-2.0
/**
 * @file heap_manager.hpp
 * @brief HeapManager<P>: host slots on the heap, capacity fixed at construction.
 */
#pragma once

#include <limen/detail/host_core.hpp>
#include <limen/detail/manager_facade.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string_view>
#include <utility>

namespace limen {

/**
 * @brief A fixed-capacity manager whose slots are allocated once, at construction.
 *
 * O(1) store and free (a LIFO free list); no allocation after construction.
 * Single-threaded: a conflicting guard gives AlreadyBorrowed (or BorrowActive
 * for free) rather than waiting. Movable (the slots and their state stay on
 * the heap, so guards stay valid); a guard must not outlive the manager. A
 * moved-from manager is empty: capacity 0, store returns Unsupported, every
 * token BadToken.
 */
template <class P>
class HeapManager
    : public detail::ManagerFacade<
          detail::InlineCore<detail::HostCore<P, detail::SingleThreaded, detail::HeapArray>>, P> {
  using Core = detail::HostCore<P, detail::SingleThreaded, detail::HeapArray>;
  using Base = detail::ManagerFacade<detail::InlineCore<Core>, P>;

 public:
  /**
   * @brief @p capacity slots in host memory, named @p name in NVTX ranges.
   *
   * Throws MemoryErrorException: Unsupported above 2^32 - 2 slots or when the
   * size in bytes overflows, OutOfMemory when the host cannot allocate it.
   */
  explicit HeapManager(std::size_t capacity, MemoryClass memory_class = MemoryClass::host(),
                       std::string_view name = "limen")
      : Base(std::in_place, make_core(capacity, memory_class, name)) {}

  /** @brief Builds the manager, or returns why not (Unsupported, OutOfMemory); never throws. */
  [[nodiscard]] static Result<HeapManager> create(std::size_t capacity,
                                                  MemoryClass memory_class = MemoryClass::host(),
                                                  std::string_view name = "limen") {
    return detail::create_manager<HeapManager>(capacity, memory_class, name);
  }

  /** @brief The capacity given at construction (0 once moved from). */
  [[nodiscard]] std::size_t configured_capacity() const noexcept { return this->capacity(); }

 private:
  // The core lives in the manager (InlineCore); its arrays are on the heap and
  // do not move with it.
  static Core make_core(std::size_t capacity, MemoryClass memory_class, std::string_view name) {
    try {
      return Core(capacity, memory_class, name);
    } catch (const std::bad_alloc&) {
      throw MemoryErrorException(MemoryError::OutOfMemory, "the manager's host arrays");
    }
  }
};

}  // namespace limen
