// SPDX-License-Identifier: Apache-2.0
// The memory and events behind a PinnedBufferPool, over the device seam (on a
// GPU and on the CPU device alike): page-locked, mapped chunks and a pool of
// events, made once and recorded again and again, that mark when a buffer's
// last copy is done. A warm pool makes no driver allocation.
#pragma once

#include "device_handles.hpp"

#include <limen/detail/device_health.hpp>
#include <limen/pinned_buffer_pool.hpp>
#include <limen/result.hpp>
#include <limen/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace limen::detail {

/** @brief Not thread-safe: the pool serialises every call under its lock. */
class PoolMemory {
 public:
  /** @brief One chunk: its host address and the same memory for the device. */
  struct Chunk {
    std::byte* host = nullptr;
    std::byte* device = nullptr;
  };

  PoolMemory(device::Api& api, int ordinal) noexcept : api_(api), ordinal_(ordinal) {}
  PoolMemory(const PoolMemory&) = delete;
  PoolMemory& operator=(const PoolMemory&) = delete;
  ~PoolMemory() = default;  // the pool waits and deallocates first

  [[nodiscard]] bool emulated() const noexcept { return api_.is_cpu(); }
  [[nodiscard]] DeviceHealth& health() noexcept { return health_; }
  [[nodiscard]] const DeviceHealth& health() const noexcept { return health_; }

  /** @brief @p bytes of page-aligned, page-locked, mapped memory. */
  Result<Chunk> allocate(std::size_t bytes);
  void deallocate(std::byte* host) noexcept;
  /** @brief An event (by id) marking the work queued on @p stream so far. */
  Result<std::uint32_t> record(StreamHandle stream);
  /** @brief Whether event @p id has completed (true once the device is lost). */
  Result<bool> done(std::uint32_t id);
  /** @brief Blocks until event @p id has completed; errors are ignored (teardown). */
  void wait(std::uint32_t id) noexcept;
  /** @brief Event @p id may be recorded again. */
  void recycle(std::uint32_t id) noexcept;
  /**
   * @brief Blocks until the work queued on @p stream so far has finished,
   * through a spare event of its own (thread-safe: no pool lock needed).
   */
  Result<void> synchronize(StreamHandle stream);
  /** @brief Whether @p stream is being captured into a graph (thread-safe). */
  Result<bool> capturing(StreamHandle stream);
  /** @brief Blocks until all work on the device has finished (trim's last resort). */
  Result<void> synchronize_device();

 private:
  static constexpr std::uint32_t no_event = 0xFFFF'FFFFU;

  /// A free event id, its event made on first use; no_event when out of memory.
  Result<std::uint32_t> take_event();
  MemoryError failed(device::Status status, const char* call);

  device::Api& api_;
  int ordinal_;
  DeviceHealth health_;
  std::deque<OwnedEvent> events_;
  std::vector<std::uint32_t> free_ids_;
  std::mutex spare_mutex_;
  OwnedEvent spare_;  ///< synchronize()'s, made on first use
};

/** @brief Pool memory, or why none. */
struct PoolMemoryOrError {
  std::unique_ptr<PoolMemory> memory;
  MemoryError error = MemoryError::Unsupported;
  std::string why;
};

/** @brief On the seam this process uses (Unsupported on the CPU device under Fallback::Fail). */
PoolMemoryOrError make_pool_memory(const PoolConfig& config) noexcept;

}  // namespace limen::detail
