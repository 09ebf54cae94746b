// SPDX-License-Identifier: Apache-2.0
/**
 * @file backend_manager.hpp
 * @brief The typed manager shared by PinnedManager, DeviceManager and SharedManager.
 */
#pragma once

#include <limen/detail/backend.hpp>
#include <limen/detail/backend_core.hpp>
#include <limen/detail/concurrent_facade.hpp>
#include <limen/detail/core_holders.hpp>
#include <limen/detail/core_interface.hpp>
#include <limen/manager_config.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace limen {
template <class P>
class AnyManager;
}  // namespace limen

namespace limen::detail {

/**
 * @brief One manager for the memory classes a backend serves (pinned, device,
 * managed): the kind is a constructor argument, so each payload type compiles
 * it once for all three.
 *
 * Whether the slot table is the single-threaded or the concurrent one is a
 * run-time choice (`ManagerConfig::thread_safe`): the core is one of two
 * BackendCore types behind BackendCoreInterface.
 */
template <class P>
class BackendManager : public ConcurrentFacade<OwnedCore<BackendCoreInterface<P>>, P> {
  static_assert(std::is_trivially_copyable_v<P>,
                "limen: pinned, device and shared managers move payloads as raw bytes (to the GPU, "
                "through pinned shadows, into managed memory), so the payload type P must be "
                "trivially copyable. Store other payloads in HeapManager or ConcurrentManager.");
  using Interface = BackendCoreInterface<P>;
  using Base = ConcurrentFacade<OwnedCore<Interface>, P>;
  // AnyManager holds a backend manager's core itself: the same interface, one call less.
  friend class limen::AnyManager<P>;

 public:
  BackendManager(BackendManager&&) noexcept = default;
  BackendManager& operator=(BackendManager&&) noexcept = default;
  ~BackendManager() = default;

  /** @brief True when the CPU fallback serves this manager instead of a GPU. */
  [[nodiscard]] bool emulated() const noexcept {
    return this->has_core() && this->core().emulated();
  }
  /** @brief The details of the last failed CUDA call (the cause of a DeviceError). */
  [[nodiscard]] std::optional<DeviceErrorInfo> last_device_error() const {
    return this->has_core() ? this->core().last_device_error() : std::nullopt;
  }
  /** @brief The stream lease(token) uses: the configured one, or one the manager owns. */
  [[nodiscard]] StreamHandle stream() const noexcept {
    return this->has_core() ? this->core().stream() : StreamHandle{};
  }
  /**
   * @brief Lends the slot @p token names to device work on @p stream.
   *
   * Conflicts like a write guard: a thread-safe manager waits for other
   * guards, a single-threaded one returns AlreadyBorrowed. Device work queued
   * on @p stream after the slot's previous in-flight work is ordered after it.
   */
  Result<DeviceLease<P>> lease(MessageToken token, StreamHandle stream) {
    return this->on_token([&](Interface& c) { return c.lease(token, stream, Wait::Yes); });
  }
  /** @brief Like lease(), but AlreadyBorrowed instead of waiting. */
  Result<DeviceLease<P>> try_lease(MessageToken token, StreamHandle stream) {
    return this->on_token([&](Interface& c) { return c.lease(token, stream, Wait::No); });
  }
  /** @brief Lends the slot to work on this manager's own stream. */
  Result<DeviceLease<P>> lease(MessageToken token) { return lease(token, stream()); }

  using Base::store_batch;
  /**
   * @brief Stores every message of @p messages, or none, and returns their
   * tokens in order.
   *
   * Device memory: the payloads are packed into one pinned staging buffer,
   * copied to the device in one transfer and scattered into the slots by one
   * kernel, all on @p stream; one event marks the batch, so every slot is in
   * flight until it completes (host reads wait for it, kernels on @p stream
   * see the payloads). Pinned and managed memory: the host writes each slot.
   * NoFreeSlots when fewer than `messages.size()` slots are free; on any
   * failure nothing is stored and no slot or buffer leaks. A failed batch
   * counts as one failed store. Never waits for conflicting guards. Without
   * @p stream, on this manager's stream.
   */
  Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>> messages,
                                                StreamHandle stream) {
    if (!this->has_core()) return MemoryError::Unsupported;
    return this->core().store_batch(messages, &stream, this->home());
  }

  /**
   * @brief Copies the payloads of @p tokens, in order, into the contiguous
   * device array @p device_out (`tokens.size()` elements), on @p stream after
   * each slot's earlier work.
   *
   * The slots are held exclusively while the copy is queued and are in flight
   * until it completes (a free is stream-ordered, host writes wait), as a
   * lease's would be. Refused with nothing done when a token is bad, stale or
   * repeated, or a slot is borrowed (AlreadyBorrowed, never waits). In the CPU
   * fallback @p device_out is host memory.
   */
  Result<void> gather(std::span<const MessageToken> tokens, P* device_out, StreamHandle stream) {
    return this->on_token([&](Interface& c) { return c.gather(tokens, device_out, stream); });
  }
  /** @brief The reverse of gather(): @p device_in's elements into the slots of @p tokens. */
  Result<void> scatter(const P* device_in, std::span<const MessageToken> tokens,
                       StreamHandle stream) {
    return this->on_token([&](Interface& c) { return c.scatter(device_in, tokens, stream); });
  }

  /** @brief The payload slots as kernels address them (see DeviceSlotView). */
  [[nodiscard]] DeviceSlotView<P> device_view() const noexcept {
    return this->has_core() ? this->core().device_view() : DeviceSlotView<P>{};
  }

  /** @brief The name given in ManagerConfig. */
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 protected:
  /**
   * @brief Builds a manager of @p kind; throws MemoryErrorException with the
   * reason on failure (Unsupported: ordinal, size, fallback policy;
   * DeviceError: the device refused memory; OutOfMemory: the host arrays).
   */
  BackendManager(MemoryKind kind, ManagerConfig config)
      : Base(make_core(kind, config)), name_(std::move(config.name)) {}

 private:
  /** @brief The class the manager reports, or MemoryErrorException for a bad ordinal. */
  static MemoryClass checked_class(MemoryKind kind, unsigned device) {
    const Result<MemoryClass> memory_class = memory_class_for(kind, device);
    if (!memory_class) {
      throw MemoryErrorException(MemoryError::Unsupported,
                                 "device ordinal " + std::to_string(device) + " is above 15");
    }
    return *memory_class;
  }

  /** @brief The backend and the core over it, or MemoryErrorException saying why not. */
  static std::unique_ptr<Interface> make_core(MemoryKind kind, const ManagerConfig& config) {
    const MemoryClass memory_class = checked_class(kind, config.device);
    if (config.capacity > SlotTable<SingleThreaded, HeapArray>::max_capacity) {
      throw MemoryErrorException(MemoryError::Unsupported, "capacity exceeds 2^32 - 2 slots");
    }
    if (!checked_product(config.capacity, slot_stride<P>)) {
      throw MemoryErrorException(MemoryError::Unsupported,
                                 "capacity x slot size overflows the address space");
    }
    BackendOrError made = make_backend({kind, slot_layout<P>(config.capacity), config});
    if (!made.backend) throw MemoryErrorException(made.error, made.why);
    const bool wait = config.wait_for_pending_frees;
    try {
      if (config.thread_safe) {
        return std::make_unique<BackendCore<P, MultiThreaded>>(memory_class,
                                                               std::move(made.backend), wait);
      }
      return std::make_unique<BackendCore<P, SingleThreaded>>(memory_class, std::move(made.backend),
                                                              wait);
    } catch (const std::bad_alloc&) {
      throw MemoryErrorException(MemoryError::OutOfMemory, "the manager's host arrays");
    }
  }

  std::string name_;
};

}  // namespace limen::detail
