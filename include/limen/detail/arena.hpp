/**
 * @file arena.hpp
 * @brief The untyped memory behind the pinned, device and shared managers.
 *
 * An arena owns all memory of one manager (allocated at construction), its
 * stream and one event per slot. It moves bytes; the typed layer
 * (`class_core.hpp`) decides what to move. Two implementations live in `src/`:
 * the CUDA one and the CPU fallback, which emulates each class on host memory.
 */
#pragma once

#include <limen/error.hpp>
#include <limen/manager_config.hpp>
#include <limen/memory_class.hpp>
#include <limen/result.hpp>
#include <limen/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace limen::detail {

/** @brief What to build: the class, the slot layout and the configuration. */
struct ArenaSpec {
  MemoryKind kind = MemoryKind::PinnedHost;
  std::size_t capacity = 0;
  std::size_t stride = 0;     ///< bytes per slot (a whole Message<P>, aligned)
  std::size_t alignment = 64;  ///< of the arena's base (and so of every slot); a power of two
  ManagerConfig config;
};

/**
 * @brief Slot memory plus the stream work on it.
 *
 * `host_base()` is where host code reads and writes slots: the slots
 * themselves for pinned and shared memory, the pinned shadow for device
 * memory. `device_base()` is what kernels address. Copies and prefetches are
 * synchronous (they return after the stream has finished them). All calls are
 * thread-safe; callers keep different threads on different slots.
 */
class Arena {
 public:
  virtual ~Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  [[nodiscard]] bool emulated() const noexcept { return emulated_; }
  [[nodiscard]] std::byte* host_base() const noexcept { return host_base_; }
  [[nodiscard]] std::byte* device_base() const noexcept { return device_base_; }
  [[nodiscard]] StreamHandle stream() const noexcept { return stream_; }

  /** @brief Copies @p bytes at @p offset from device memory into the host shadow. */
  virtual Result<void> copy_to_host(std::size_t offset, std::size_t bytes) = 0;
  /** @brief Copies @p bytes at @p offset from the host shadow into device memory. */
  virtual Result<void> copy_to_device(std::size_t offset, std::size_t bytes) = 0;
  /** @brief Makes managed memory at @p offset resident on the host (shared class). */
  virtual Result<void> prefetch_to_host(std::size_t offset, std::size_t bytes) = 0;

  /** @brief Records slot @p slot's event on @p stream: work queued so far must finish. */
  virtual Result<void> record_event(std::uint32_t slot, StreamHandle stream) = 0;
  /** @brief Whether slot @p slot's last recorded event has completed (never blocks). */
  virtual Result<bool> event_done(std::uint32_t slot) = 0;
  /** @brief Blocks until slot @p slot's last recorded event has completed. */
  virtual Result<void> wait_event(std::uint32_t slot) = 0;
  /** @brief Makes later work on @p stream wait (on the device) for slot @p slot's event. */
  virtual Result<void> stream_wait_event(std::uint32_t slot, StreamHandle stream) = 0;
  /** @brief Blocks until all work queued on @p stream has finished. */
  virtual Result<void> synchronize(StreamHandle stream) = 0;
  /** @brief Starts moving managed memory at @p offset to the device for work on @p stream. */
  virtual Result<void> prefetch_to_device(std::size_t offset, std::size_t bytes,
                                          StreamHandle stream) = 0;

  /** @brief The last failed CUDA call, if any. */
  [[nodiscard]] std::optional<DeviceErrorInfo> last_error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
  }

 protected:
  explicit Arena(bool emulated) noexcept : emulated_(emulated) {}

  /** @brief Keeps @p info for last_error(); returns DeviceError for the caller to pass on. */
  MemoryError fail(DeviceErrorInfo info) {
    std::lock_guard lock(error_mutex_);
    last_error_ = std::move(info);
    return MemoryError::DeviceError;
  }

  std::byte* host_base_ = nullptr;
  std::byte* device_base_ = nullptr;
  StreamHandle stream_;

 private:
  bool emulated_;
  mutable std::mutex error_mutex_;
  std::optional<DeviceErrorInfo> last_error_;
};

/** @brief An arena, or why none could be built. */
struct ArenaOrError {
  std::unique_ptr<Arena> arena;
  MemoryError error = MemoryError::Unsupported;
  std::string why;
};

/**
 * @brief Builds the arena for @p spec: on the GPU when one works, else the CPU
 * fallback (or `Unsupported` under `Fallback::Fail`). Bad ordinals are errors.
 */
[[nodiscard]] ArenaOrError make_arena(const ArenaSpec& spec);

}  // namespace limen::detail
