// SPDX-License-Identifier: Apache-2.0
// The CPU device's memory. Device memory is carved from a per-device arena
// reserved twice: once with no access rights (the addresses handed out,
// which fault when host code touches them, as device memory does on most
// GPUs) and once read-write (the alias the device's own work uses). Pinned
// and managed allocations are page-aligned host memory, remembered so that
// frees and mapped-pointer queries of anything else are refused.
#pragma once

#include "api.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace limen::detail::cpu {

using device::Status;

/// Which other devices may reach a memory pool's allocations (bit d: device d), as
/// cudaMemPoolSetAccess grants; shared by the pool and every block it served.
using PoolAccess = std::shared_ptr<std::atomic<std::uint32_t>>;

/**
 * @brief @p bytes of device memory on @p device (256-byte aligned);
 * memory_allocation when full. @p pool_access: the pool that served it (null:
 * a plain allocation, which other devices reach through peer access).
 */
Status device_allocate(int device, std::size_t bytes, void** out, PoolAccess pool_access = {});
/** @brief The pool access of the block @p ptr points into (null: a plain allocation or none). */
[[nodiscard]] PoolAccess pool_access_of(const void* ptr);
/** @brief Gives device memory back; invalid_value for anything not allocated by device_allocate. */
Status device_deallocate(void* ptr) noexcept;
/** @brief The device @p ptr's device memory belongs to, or -1 (host memory). */
[[nodiscard]] int device_of(const void* ptr) noexcept;
/** @brief host_view() past the first arena (see below). */
[[nodiscard]] void* host_view_slow(const void* ptr) noexcept;

/** @brief The first arena reserved: most device pointers are in it. */
struct ArenaWindow {
  std::atomic<std::uintptr_t> start{0};
  std::atomic<std::uintptr_t> end{0};
  std::atomic<std::uintptr_t> alias{0};
};
extern constinit ArenaWindow first_arena;

/** @brief Where the device's work reaches @p ptr: its alias for device memory, @p ptr otherwise. */
[[nodiscard]] inline void* host_view(const void* ptr) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(ptr);
  const std::uintptr_t start = first_arena.start.load(std::memory_order_acquire);
  if (a >= start && a < first_arena.end.load(std::memory_order_relaxed)) {
    return reinterpret_cast<void*>(a - start + first_arena.alias.load(std::memory_order_relaxed));
  }
  return host_view_slow(ptr);
}

enum class HostKind : unsigned char { Pinned, Managed };

/** @brief Page-aligned host memory of @p kind. */
Status host_allocate(HostKind kind, std::size_t bytes, void** out);
/** @brief Gives it back; invalid_value for memory host_allocate did not hand out as @p kind. */
Status host_deallocate(HostKind kind, void* ptr) noexcept;
/** @brief Whether @p ptr points into a live allocation of @p kind. */
[[nodiscard]] bool host_owns(HostKind kind, const void* ptr) noexcept;

}  // namespace limen::detail::cpu
