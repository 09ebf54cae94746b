// SPDX-License-Identifier: Apache-2.0
/**
 * @file pinned_buffer_pool.hpp
 * @brief PinnedBufferPool: page-locked transfer buffers of any size, reused
 * without driver calls, returned stream-ordered; PinnedBuffer, its RAII handle;
 * PinnedMemoryResource, the pool as a std::pmr::memory_resource.
 */
#pragma once

#include <limen/error.hpp>
#include <limen/manager_config.hpp>
#include <limen/result.hpp>
#include <limen/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <optional>
#include <span>
#include <string>
#include <utility>

namespace limen {

/** @brief How to build a PinnedBufferPool. */
struct PoolConfig {
  /// Most bytes the pool may hold from the driver (all chunks); 0: no limit.
  std::size_t max_bytes = 0;
  /// Bytes per chunk: each allocation from the driver (cudaHostAlloc, mapped and portable)
  /// is a chunk, carved into buffers of one size class. Larger buffers get a chunk each.
  std::size_t chunk_bytes = std::size_t{4} << 20;
  /// CUDA device whose address space the mapped pointers are for.
  unsigned device = 0;
  /// Behaviour when no CUDA device works: page-aligned host memory, or `Unsupported`.
  Fallback fallback = Fallback::Emulate;
  /// Shown in NVTX ranges.
  std::string name = "limen-pinned";
};

/** @brief A snapshot of a pool's counters. */
struct PoolStats {
  std::uint64_t bytes_reserved = 0;     ///< bytes in chunks held from the driver
  std::uint64_t bytes_in_use = 0;       ///< bytes of live and not yet returned buffers
  std::uint64_t peak_bytes_in_use = 0;  ///< highest `bytes_in_use` seen
  std::uint64_t hits = 0;               ///< allocations served without a driver call
  std::uint64_t misses = 0;             ///< allocations that needed a new chunk
  std::uint64_t chunks = 0;             ///< chunks held now
  std::uint64_t pending_releases = 0;   ///< buffers released stream-ordered, work still running
  /// Bytes of released buffers kept out of use because their work cannot be
  /// ordered: released on a capturing stream (for the pool's lifetime), or
  /// when neither an event nor a stream wait could be made (until trim()).
  /// They are still counted in bytes_in_use.
  std::uint64_t quarantined_bytes = 0;

  /** @brief Every counter equal. */
  friend bool operator==(const PoolStats&, const PoolStats&) = default;
};

namespace detail {
class PinnedPoolImpl;

/** @brief Where a buffer came from, for giving it back. */
struct PinnedBlock {
  std::byte* host = nullptr;
  void* device = nullptr;
  std::uint32_t chunk = 0;
  std::uint32_t size_class = 0;
};
}  // namespace detail

/**
 * @brief One page-locked buffer from a PinnedBufferPool; move-only.
 *
 * `data()` is host memory the GPU can copy to and from asynchronously;
 * `device_ptr()` is the same memory in the device's address space (mapped).
 * When the buffer ends (destruction or reset()) it goes back to its pool at
 * once, unless work on a stream uses it: call `reset(stream)` (or
 * `PinnedBufferPool::release`) after queuing that work, and the buffer returns
 * only once the work queued on that stream so far has completed, without
 * blocking the caller. A buffer must not outlive its pool.
 */
class PinnedBuffer {
 public:
  /** @brief An empty buffer. */
  PinnedBuffer() noexcept = default;
  /** @brief Takes @p other's buffer; @p other is empty afterwards. */
  PinnedBuffer(PinnedBuffer&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), block_(other.block_), size_(other.size_) {}
  /** @brief Returns this buffer (if any) and takes @p other's. */
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      pool_ = std::exchange(other.pool_, nullptr);
      block_ = other.block_;
      size_ = other.size_;
    }
    return *this;
  }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  /** @brief Returns the buffer to its pool at once. */
  ~PinnedBuffer() { reset(); }

  /** @brief Returns the buffer to its pool now: no device work may still use it. */
  void reset() noexcept;
  /**
   * @brief Returns the buffer once the work queued on @p stream so far has
   * completed (an event is recorded there); never blocks.
   */
  void reset(StreamHandle stream) noexcept;

  /** @brief The first byte, in host memory (null when empty). */
  [[nodiscard]] std::byte* data() const noexcept {
    return pool_ != nullptr ? block_.host : nullptr;
  }
  /** @brief The bytes asked for (the block behind it may be larger). */
  [[nodiscard]] std::size_t size() const noexcept { return pool_ != nullptr ? size_ : 0; }
  /** @brief The buffer as bytes. */
  [[nodiscard]] std::span<std::byte> span() const noexcept { return {data(), size()}; }
  /** @brief The same memory for device work (the mapped pointer; host memory in the fallback). */
  [[nodiscard]] void* device_ptr() const noexcept {
    return pool_ != nullptr ? block_.device : nullptr;
  }
  /** @brief Whether the buffer holds memory. */
  [[nodiscard]] explicit operator bool() const noexcept { return pool_ != nullptr; }

 private:
  friend class PinnedBufferPool;
  PinnedBuffer(detail::PinnedPoolImpl* pool, detail::PinnedBlock block, std::size_t size) noexcept
      : pool_(pool), block_(block), size_(size) {}

  detail::PinnedPoolImpl* pool_ = nullptr;
  detail::PinnedBlock block_;
  std::size_t size_ = 0;
};

/**
 * @brief Page-locked host buffers of any size, in power-of-two size classes
 * carved from large chunks; after warm-up an allocation makes no driver call.
 *
 * Thread-safe: any thread may allocate and release. Chunks come from
 * `cudaHostAlloc` (mapped and portable) on the GPU, from page-aligned host
 * memory on the CPU fallback (same behaviour, events emulated). Stream-ordered
 * release (`release(buffer, stream)`) is the pool's answer to reusing a
 * buffer a copy still reads: it returns once that copy is done. Movable; its
 * buffers and its memory resource point at state that does not move.
 */
class PinnedBufferPool {
 public:
  /** @brief Builds the pool (no chunk yet); throws MemoryErrorException (e.g. Unsupported). */
  explicit PinnedBufferPool(PoolConfig config = {});
  /** @brief Builds the pool, or returns why not; never throws. */
  [[nodiscard]] static Result<PinnedBufferPool> create(PoolConfig config = {});
  /** @brief Takes @p other's state; @p other is empty (every allocation fails) afterwards. */
  PinnedBufferPool(PinnedBufferPool&& other) noexcept;
  /** @brief Destroys this pool (see the destructor) and takes @p other's state. */
  PinnedBufferPool& operator=(PinnedBufferPool&& other) noexcept;
  PinnedBufferPool(const PinnedBufferPool&) = delete;
  PinnedBufferPool& operator=(const PinnedBufferPool&) = delete;
  /** @brief Waits for stream-ordered releases still pending, then frees every chunk. */
  ~PinnedBufferPool();

  /**
   * @brief A buffer of at least @p bytes (0 is allowed). NoFreeSlots when the
   * byte limit would be exceeded even after trim(); DeviceError when the
   * driver refused a chunk; Unsupported once moved from.
   */
  [[nodiscard]] Result<PinnedBuffer> allocate(std::size_t bytes);
  /**
   * @brief `buffer.reset(stream)`: returns it once the work queued on @p stream
   * has completed. On a stream being captured into a graph the buffer's work
   * runs at the graph's launches, whenever they are: the buffer is kept out of
   * use (quarantined) for the rest of the pool's life, so a graph may go on
   * reading it. If neither an event nor a wait for @p stream can be made, the
   * buffer is quarantined until trim() (last_device_error() says why).
   */
  void release(PinnedBuffer&& buffer, StreamHandle stream) noexcept;
  /**
   * @brief Frees chunks that hold no live or pending buffer; the bytes given
   * back. If some buffers are quarantined because their release could not be
   * ordered, it first waits for the whole device, which brings them back.
   */
  std::size_t trim();
  /** @brief The counters, after collecting releases whose work has completed. */
  [[nodiscard]] PoolStats stats() const;
  /** @brief True when the CPU fallback serves this pool instead of a GPU. */
  [[nodiscard]] bool emulated() const noexcept;
  /** @brief The last failed CUDA call, if any. */
  [[nodiscard]] std::optional<DeviceErrorInfo> last_device_error() const;
  /**
   * @brief The pool as a `std::pmr::memory_resource`, e.g. for
   * `std::pmr::vector<float>` in pinned memory. Valid while the pool lives.
   */
  [[nodiscard]] std::pmr::memory_resource* resource() noexcept;

 private:
  std::unique_ptr<detail::PinnedPoolImpl> impl_;
};

/**
 * @brief A `std::pmr::memory_resource` over a PinnedBufferPool: allocations
 * are pool buffers (aligned to their size class, at most a page); deallocation
 * returns them at once. It also satisfies the `cuda::mr::resource` concept of
 * CCCL (allocate/deallocate with an alignment, equality), checked in the tests.
 * Thread-safe; equal only to itself.
 */
class PinnedMemoryResource final : public std::pmr::memory_resource {
 public:
  /** @brief A resource drawing on @p pool's state. */
  explicit PinnedMemoryResource(detail::PinnedPoolImpl& pool) noexcept : pool_(&pool) {}

 private:
  void* do_allocate(std::size_t bytes, std::size_t alignment) override;
  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  detail::PinnedPoolImpl* pool_;
};

}  // namespace limen
