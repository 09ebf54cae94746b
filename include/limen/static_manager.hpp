// SPDX-License-Identifier: Apache-2.0
/**
 * @file static_manager.hpp
 * @brief StaticManager<P, N>: N host slots inside the object, no heap allocation at all.
 */
#pragma once

#include <limen/detail/host_core.hpp>
#include <limen/detail/manager_facade.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace limen {

/**
 * @brief A fixed-capacity manager whose slots live inside the object itself.
 *
 * Makes no heap allocation, ever. O(1) store and free (a LIFO free list).
 * Single-threaded: a conflicting guard gives AlreadyBorrowed (or BorrowActive
 * for free) rather than waiting. Neither copyable nor movable, because guards
 * point into it; a guard must not outlive it.
 */
template <class P, std::size_t N>
class StaticManager
    : public detail::ManagerFacade<
          detail::InlineCore<
              detail::HostCore<P, detail::SingleThreaded, detail::InlineStorage<N>::template Of>>,
          P> {
  using Core = detail::HostCore<P, detail::SingleThreaded, detail::InlineStorage<N>::template Of>;
  using Base = detail::ManagerFacade<detail::InlineCore<Core>, P>;

 public:
  static_assert(N <= 0xFFFF'FFFEULL, "StaticManager: at most 2^32 - 2 slots");

  /** @brief A manager in host memory. */
  StaticManager() : Base(std::in_place, N, MemoryClass::host(), "limen") {}
  /**
   * @brief A manager that reports @p memory_class (its slots stay in host memory),
   * named @p name in NVTX ranges.
   */
  explicit StaticManager(MemoryClass memory_class, std::string_view name = "limen")
      : Base(std::in_place, N, memory_class, name) {}

  StaticManager(const StaticManager&) = delete;
  StaticManager& operator=(const StaticManager&) = delete;
};

}  // namespace limen
