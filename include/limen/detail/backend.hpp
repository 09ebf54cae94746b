// SPDX-License-Identifier: Apache-2.0
/**
 * @file backend.hpp
 * @brief The memory behind the pinned, device and shared managers, spoken in slots.
 *
 * A backend owns all memory of one manager (allocated at construction), its
 * streams, one event per slot and the record of which slots device work still
 * uses. The typed core (`class_core.hpp`) asks it, per slot, to make the host
 * view current, to publish a host write, and to order device work; how that is
 * done for pinned, device or managed memory lives in one backend per class, on
 * the GPU (`src/backend/cuda_*.cpp`) or emulated on the CPU
 * (`src/backend/emulated.cpp`).
 */
#pragma once

#include <limen/detail/device_health.hpp>
#include <limen/detail/nvtx.hpp>
#include <limen/error.hpp>
#include <limen/manager_config.hpp>
#include <limen/memory_class.hpp>
#include <limen/result.hpp>
#include <limen/stats.hpp>
#include <limen/stream.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace limen::detail {

/** @brief Where things are in one slot, and how many slots there are. */
struct SlotLayout {
  std::size_t capacity = 0;
  std::size_t stride = 0;          ///< bytes per slot (a whole Message<P>, aligned)
  std::size_t alignment = 64;      ///< of every slot; a power of two
  std::size_t payload_offset = 0;  ///< of the payload inside a slot
  std::size_t payload_bytes = 0;   ///< sizeof(P): what copies move
};

/** @brief What to build: the class, the slot layout and the configuration. */
struct BackendSpec {
  MemoryKind kind = MemoryKind::PinnedHost;
  SlotLayout layout;
  ManagerConfig config;
};

/**
 * @brief Slot memory plus the device work on it; thread-safe for different slots.
 *
 * The core guarantees that one slot is worked on by one thread at a time
 * (its slot word hands it over), except `work_done`, which any thread may ask.
 * "Work" is anything queued on a stream that still uses a slot: a lease's
 * kernels, or the backend's own copy after a host write. Every call that
 * fails records the CUDA call for `last_error()`; a sticky CUDA error marks
 * the backend lost: from then on host access and writes fail with
 * DeviceError (the cause kept), and all work counts as done.
 */
class Backend {
 public:
  virtual ~Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  [[nodiscard]] bool emulated() const noexcept { return emulated_; }
  [[nodiscard]] const SlotLayout& layout() const noexcept { return layout_; }
  /** @brief Where host code reads and writes slot @p slot (the slot, or its pinned shadow). */
  [[nodiscard]] std::byte* host_slot(std::uint32_t slot) const noexcept {
    return host_base_ + slot * layout_.stride;
  }
  /** @brief Slot @p slot's payload as device work addresses it. */
  [[nodiscard]] std::byte* device_payload(std::uint32_t slot) const noexcept {
    return device_base_ + slot * layout_.stride + layout_.payload_offset;
  }
  /** @brief The first slot in device address space (the NVTX heap, device views). */
  [[nodiscard]] std::byte* device_base() const noexcept { return device_base_; }
  /** @brief The stream leases use by default: the configured one, or one the backend owns. */
  [[nodiscard]] StreamHandle stream() const noexcept { return stream_; }
  /** @brief This manager's NVTX annotations. */
  [[nodiscard]] const nvtx::Annotator& nvtx() const noexcept { return nvtx_; }
  nvtx::Annotator& nvtx() noexcept { return nvtx_; }

  // --- The slot protocol ------------------------------------------------------

  /**
   * @brief Before host code reads or writes slot @p slot: waits for device work
   * still using it and makes the host view current (a copy into the shadow, a
   * prefetch). Blocks until the host may touch the bytes.
   */
  virtual Result<void> prepare_host_access(std::uint32_t slot) = 0;
  /**
   * @brief After host code wrote slot @p slot (a store, a write guard): makes the
   * write visible to later device work. Never waits for the GPU; the slot has
   * work in flight until the backend's copy completes.
   */
  virtual Result<void> commit_host_write(std::uint32_t slot) = 0;
  /**
   * @brief Before device work on @p stream uses slot @p slot (a lease): orders it
   * after the slot's earlier work. Unsupported while @p stream is being captured.
   */
  virtual Result<void> prepare_device_use(std::uint32_t slot, StreamHandle stream) = 0;
  /**
   * @brief After device work on slot @p slot was queued on @p stream (a lease ended):
   * the slot has work in flight until that work completes. An error means the
   * work could not be ordered at all: the slot's contents are unknown.
   */
  virtual Result<void> end_device_use(std::uint32_t slot, StreamHandle stream) noexcept = 0;

  /** @brief The slot's work marker: 0 when nothing is in flight, else changes with new work. */
  [[nodiscard]] std::uint32_t work_epoch(std::uint32_t slot) const noexcept {
    return work_[slot].load(std::memory_order_acquire);
  }
  /** @brief Whether slot @p slot's work has completed; never blocks. */
  virtual Result<bool> work_done(std::uint32_t slot) = 0;
  /** @brief Blocks until slot @p slot's work has completed. */
  virtual Result<void> wait_work(std::uint32_t slot) = 0;
  /** @brief Forgets slot @p slot's work seen as @p epoch once known complete. */
  void retire_work(std::uint32_t slot, std::uint32_t epoch) noexcept {
    if (single_thread_) {  // no other thread looks: no read-modify-write needed
      if (work_[slot].load(std::memory_order_relaxed) == epoch) {
        work_[slot].store(0, std::memory_order_release);
      }
      return;
    }
    work_[slot].compare_exchange_strong(epoch, 0, std::memory_order_acq_rel);
  }

  // --- Batches (one call for many slots) ------------------------------------------

  /**
   * @brief Writes the payloads of `slots.size()` messages (the first at
   * @p messages, @p message_stride bytes apart) into fresh @p slots. Device
   * memory gets one packed upload and one scatter on @p stream, after which
   * the slots have work in flight until the batch completes; host-visible
   * memory (pinned, managed) is written by the host. On error the slots'
   * contents are unspecified: the caller abandons them, unless the error is
   * Poisoned: the upload was queued but could be neither marked nor waited
   * for, so it may still write them (the caller never reuses them).
   */
  virtual Result<void> upload_batch(std::span<const std::uint32_t> slots, const std::byte* messages,
                                    std::size_t message_stride, StreamHandle stream) = 0;
  /**
   * @brief Copies the payloads of @p slots, in order, into the contiguous
   * device array @p out on @p stream, after each slot's earlier work; the
   * slots have work in flight until the copy completes.
   */
  virtual Result<void> gather(std::span<const std::uint32_t> slots, std::byte* out,
                              StreamHandle stream) = 0;
  /**
   * @brief The reverse of gather(): @p in's items into @p slots' payloads, on @p stream.
   * gather() and scatter() return Poisoned when their work was queued but
   * could be neither marked nor waited for (the slots' contents are unknown).
   */
  virtual Result<void> scatter(const std::byte* in, std::span<const std::uint32_t> slots,
                               StreamHandle stream) = 0;

  // --- Health and counters ----------------------------------------------------

  /** @brief Whether a sticky CUDA error made the device unusable for this manager. */
  [[nodiscard]] bool lost() const noexcept { return health_.lost(); }
  /** @brief The last failed CUDA call (the cause, once lost), if any. */
  [[nodiscard]] std::optional<DeviceErrorInfo> last_error() const { return health_.last_error(); }
  /** @brief Bytes copied and synchronizations waited on so far. */
  void add_traffic(ManagerStats& stats) const noexcept {
    stats.bytes_host_to_device += to_device_.load(std::memory_order_relaxed);
    stats.bytes_device_to_host += to_host_.load(std::memory_order_relaxed);
    stats.synchronizations += syncs_.load(std::memory_order_relaxed);
  }
  /** @brief Counts a host wait the core did through this backend. */
  void count_sync() noexcept { bump(syncs_, 1); }

 protected:
  Backend(bool emulated, const BackendSpec& spec)
      : layout_(spec.layout),
        nvtx_(spec.config.name, memory_class_of(spec)),
        emulated_(emulated),
        single_thread_(!spec.config.thread_safe) {}

  /**
   * @brief Creates the per-slot work markers. Subclasses call it after their
   * slot memory exists, so an impossible capacity fails on the big allocation
   * before any bookkeeping is touched. Throws std::bad_alloc.
   */
  void track_slots() { work_ = std::make_unique<std::atomic<std::uint32_t>[]>(layout_.capacity); }

  /** @brief Marks new work on slot @p slot (foreign: queued by a lease on a caller's stream). */
  void mark_work(std::uint32_t slot, bool foreign) noexcept {
    const std::uint32_t old = work_[slot].load(std::memory_order_relaxed);
    std::uint32_t next = ((old >> 1) + 1) << 1 | (foreign ? 1U : 0U);
    if (next == 0) next = 2;
    work_[slot].store(next, std::memory_order_release);
  }
  /** @brief Whether slot @p slot's work was queued by a lease (not by the backend's own copy). */
  [[nodiscard]] bool foreign_work(std::uint32_t slot) const noexcept {
    return (work_epoch(slot) & 1U) != 0;
  }

  /** @brief Keeps @p info for last_error() (never replacing a lost device's cause). */
  MemoryError fail(DeviceErrorInfo info, bool sticky) {
    return health_.fail(std::move(info), sticky);
  }

  void count_to_device(std::uint64_t bytes) noexcept { bump(to_device_, bytes); }
  void count_to_host(std::uint64_t bytes) noexcept { bump(to_host_, bytes); }

  /** @brief Host-visible slots: the host writes each message's payload itself. */
  void write_payloads(std::span<const std::uint32_t> slots, const std::byte* messages,
                      std::size_t message_stride) noexcept {
    for (std::size_t i = 0; i < slots.size(); ++i) {
      std::memcpy(host_slot(slots[i]) + layout_.payload_offset,
                  messages + i * message_stride + layout_.payload_offset, layout_.payload_bytes);
    }
  }

  SlotLayout layout_;
  std::byte* host_base_ = nullptr;
  std::byte* device_base_ = nullptr;
  StreamHandle stream_;

 private:
  static MemoryClass memory_class_of(const BackendSpec& spec) noexcept {
    const Result<MemoryClass> c = memory_class_for(spec.kind, spec.config.device);
    return c ? *c : MemoryClass::device(0);  // the manager refused a bad ordinal before this
  }

  /// Adds @p n to a counter: a plain add when one thread owns the manager
  /// (an uncontended atomic read-modify-write costs more than the copy it counts).
  void bump(std::atomic<std::uint64_t>& counter, std::uint64_t n) noexcept {
    if (single_thread_) {
      counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    } else {
      counter.fetch_add(n, std::memory_order_relaxed);
    }
  }

  std::unique_ptr<std::atomic<std::uint32_t>[]> work_;
  nvtx::Annotator nvtx_;
  alignas(64) std::atomic<std::uint64_t> to_device_{0};
  std::atomic<std::uint64_t> to_host_{0};
  std::atomic<std::uint64_t> syncs_{0};
  DeviceHealth health_;
  bool emulated_;
  bool single_thread_;  ///< the manager is not thread-safe: one thread calls at a time
};

/** @brief A backend, or why none could be built. */
struct BackendOrError {
  std::unique_ptr<Backend> backend;
  MemoryError error = MemoryError::Unsupported;
  std::string why;
};

/**
 * @brief Builds the backend for @p spec: on the GPU when one works, else the
 * CPU fallback (or `Unsupported` under `Fallback::Fail`). Bad ordinals and
 * sizes are errors; never throws.
 */
[[nodiscard]] BackendOrError make_backend(const BackendSpec& spec) noexcept;

}  // namespace limen::detail
