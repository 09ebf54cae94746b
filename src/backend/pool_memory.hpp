// SPDX-License-Identifier: Apache-2.0
// The memory and events behind a PinnedBufferPool: page-locked, mapped chunks
// and events that mark when a buffer's last copy is done. On the GPU
// (cuda_pool_memory.cpp) or emulated (emulated.cpp), like the managers'
// backends.
#pragma once

#include <limen/detail/device_health.hpp>
#include <limen/pinned_buffer_pool.hpp>
#include <limen/result.hpp>
#include <limen/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace limen::detail {

/** @brief Not thread-safe: the pool serialises every call under its lock. */
class PoolMemory {
 public:
  /** @brief One chunk: its host address and the same memory for the device. */
  struct Chunk {
    std::byte* host = nullptr;
    std::byte* device = nullptr;
  };

  virtual ~PoolMemory() = default;
  PoolMemory(const PoolMemory&) = delete;
  PoolMemory& operator=(const PoolMemory&) = delete;

  [[nodiscard]] bool emulated() const noexcept { return emulated_; }
  [[nodiscard]] DeviceHealth& health() noexcept { return health_; }
  [[nodiscard]] const DeviceHealth& health() const noexcept { return health_; }

  /** @brief @p bytes of page-aligned, page-locked, mapped memory. */
  virtual Result<Chunk> allocate(std::size_t bytes) = 0;
  virtual void deallocate(std::byte* host) noexcept = 0;
  /** @brief An event (by id) marking the work queued on @p stream so far. */
  virtual Result<std::uint32_t> record(StreamHandle stream) = 0;
  /** @brief Whether event @p id has completed (true once the device is lost). */
  virtual Result<bool> done(std::uint32_t id) = 0;
  /** @brief Blocks until event @p id has completed; errors are ignored (teardown). */
  virtual void wait(std::uint32_t id) noexcept = 0;
  /** @brief Event @p id may be recorded again. */
  virtual void recycle(std::uint32_t id) noexcept = 0;
  /** @brief Blocks until the work queued on @p stream has finished (the substitute for record). */
  virtual Result<void> synchronize(StreamHandle stream) = 0;

 protected:
  explicit PoolMemory(bool emulated) noexcept : emulated_(emulated) {}

 private:
  DeviceHealth health_;
  bool emulated_;
};

/** @brief Pool memory, or why none. */
struct PoolMemoryOrError {
  std::unique_ptr<PoolMemory> memory;
  MemoryError error = MemoryError::Unsupported;
  std::string why;
};

/** @brief On the GPU when one works, else the fallback (or Unsupported under Fallback::Fail). */
PoolMemoryOrError make_pool_memory(const PoolConfig& config) noexcept;
PoolMemoryOrError make_emulated_pool_memory(const PoolConfig& config);
#if LIMEN_HAVE_CUDA
PoolMemoryOrError make_cuda_pool_memory(const PoolConfig& config);
#endif

}  // namespace limen::detail
