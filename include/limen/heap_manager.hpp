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
#include <string_view>

namespace limen {

/**
 * @brief A fixed-capacity manager whose slots are allocated once, at construction.
 *
 * O(1) store and free (a LIFO free list); no allocation after construction.
 * Single-threaded: a conflicting guard gives AlreadyBorrowed (or BorrowActive
 * for free) rather than waiting. Movable (guards point at the heap state, which
 * does not move); a guard must not outlive the manager.
 */
template <class P>
class HeapManager : public detail::ManagerFacade<HeapManager<P>, P> {
  using Core = detail::HostCore<P, detail::SingleThreaded, detail::HeapArray>;
  friend detail::ManagerFacade<HeapManager<P>, P>;

 public:
  /**
   * @brief @p capacity slots in host memory, named @p name in NVTX ranges;
   * throws MemoryErrorException above 2^32 - 2 slots.
   */
  explicit HeapManager(std::size_t capacity, MemoryClass memory_class = MemoryClass::host(),
                       std::string_view name = "limen")
      : core_(std::make_unique<Core>(capacity, memory_class, name)) {}

  /** @brief The capacity given at construction. */
  [[nodiscard]] std::size_t configured_capacity() const noexcept { return core_->capacity(); }

 private:
  static constexpr detail::Wait read_wait = detail::Wait::No;
  Core& core() noexcept { return *core_; }
  const Core& core() const noexcept { return *core_; }
  static constexpr std::uint32_t home() noexcept { return 0; }
  static constexpr bool samples_peak() noexcept { return true; }

  std::unique_ptr<Core> core_;
};

}  // namespace limen
