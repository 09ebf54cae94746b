// SPDX-License-Identifier: Apache-2.0
/**
 * @file class_manager.hpp
 * @brief The typed manager shared by PinnedManager, DeviceManager and SharedManager.
 */
#pragma once

#include <limen/detail/backend.hpp>
#include <limen/detail/class_core.hpp>
#include <limen/detail/concurrent_facade.hpp>
#include <limen/detail/thread_home.hpp>
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
#include <variant>
#include <vector>

namespace limen::detail {

/**
 * @brief One implementation for the three CUDA memory classes, chosen by @p Kind;
 * @p Derived is the public manager (CRTP).
 *
 * Whether the slot table is the single-threaded or the concurrent one is a
 * run-time choice (`ManagerConfig::thread_safe`), so the core is held as one
 * of two types and every call is visited onto it.
 */
template <class Derived, class P, MemoryKind Kind>
class ClassManager : public ConcurrentFacade<Derived, P> {
  static_assert(std::is_trivially_copyable_v<P>,
                "limen: pinned, device and shared managers move payloads as raw bytes (to the GPU, "
                "through pinned shadows, into managed memory), so the payload type P must be "
                "trivially copyable. Store other payloads in HeapManager or ConcurrentManager.");
  using Single = ClassCore<P, SingleThreaded>;
  using Multi = ClassCore<P, MultiThreaded>;
  using Cores = std::variant<std::unique_ptr<Single>, std::unique_ptr<Multi>>;
  friend ManagerFacade<Derived, P>;
  friend ConcurrentFacade<Derived, P>;

 public:
  /**
   * @brief Builds the manager; throws MemoryErrorException with the reason on
   * failure (Unsupported: ordinal, size, fallback policy; DeviceError: the
   * device refused memory; OutOfMemory: the host arrays).
   */
  explicit ClassManager(ManagerConfig config)
      : cores_(build(config)), class_(*class_for(config.device)), name_(std::move(config.name)) {}

  ClassManager(ClassManager&&) noexcept = default;
  ClassManager& operator=(ClassManager&&) noexcept = default;

  /** @brief Builds the manager, or returns why not; never throws. */
  [[nodiscard]] static Result<Derived> create(ManagerConfig config = {}) {
    return create_manager<Derived>(std::move(config));
  }

  /** @brief True when the CPU fallback serves this manager instead of a GPU. */
  [[nodiscard]] bool emulated() const noexcept {
    return this->on_core([](auto& c) { return c.backend().emulated(); }, false);
  }
  /** @brief The details of the last failed CUDA call (the cause of a DeviceError). */
  [[nodiscard]] std::optional<DeviceErrorInfo> last_device_error() const {
    return this->on_core([](auto& c) { return c.backend().last_error(); },
                         std::optional<DeviceErrorInfo>{});
  }
  /** @brief The stream lease(token) uses: the configured one, or one the manager owns. */
  [[nodiscard]] StreamHandle stream() const noexcept {
    return this->on_core([](auto& c) { return c.backend().stream(); }, StreamHandle{});
  }
  /**
   * @brief Lends the slot @p token names to device work on @p stream.
   *
   * Conflicts like a write guard: a thread-safe manager waits for other
   * guards, a single-threaded one returns AlreadyBorrowed. Device work queued
   * on @p stream after the slot's previous in-flight work is ordered after it.
   */
  Result<DeviceLease<P>> lease(MessageToken token, StreamHandle stream) {
    return this->on_token([&](auto& c) { return c.lease(token, stream, read_wait); });
  }
  /** @brief Like lease(), but AlreadyBorrowed instead of waiting. */
  Result<DeviceLease<P>> try_lease(MessageToken token, StreamHandle stream) {
    return this->on_token([&](auto& c) { return c.lease(token, stream, Wait::No); });
  }
  /** @brief Lends the slot to work on this manager's own stream. */
  Result<DeviceLease<P>> lease(MessageToken token) { return lease(token, stream()); }

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
   * counts as one failed store. Never waits for conflicting guards.
   */
  Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>> messages,
                                                StreamHandle stream) {
    if (!this->has_core()) return MemoryError::Unsupported;
    return visit_core([&](auto& c) { return c.store_batch(messages, stream, home()); });
  }
  /** @brief store_batch() on this manager's stream. */
  Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>> messages) {
    return store_batch(messages, stream());
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
    return this->on_token([&](auto& c) { return c.gather(tokens, device_out, stream); });
  }
  /** @brief The reverse of gather(): @p device_in's elements into the slots of @p tokens. */
  Result<void> scatter(const P* device_in, std::span<const MessageToken> tokens,
                       StreamHandle stream) {
    return this->on_token([&](auto& c) { return c.scatter(device_in, tokens, stream); });
  }

  /** @brief The payload slots as kernels address them (see DeviceSlotView). */
  [[nodiscard]] DeviceSlotView<P> device_view() const noexcept {
    return this->on_core([](auto& c) { return c.device_view(); }, DeviceSlotView<P>{});
  }

  /** @brief The name given in ManagerConfig. */
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 private:
  static Result<MemoryClass> class_for(unsigned device) {
    if constexpr (Kind == MemoryKind::Device) return MemoryClass::try_device(device);
    if (device > max_device_ordinal) return MemoryError::Unsupported;
    return Kind == MemoryKind::PinnedHost ? MemoryClass::pinned_host() : MemoryClass::shared();
  }

  /** @brief The arena and the core, or MemoryErrorException saying why not. */
  static Cores build(const ManagerConfig& config) {
    const auto memory_class = class_for(config.device);
    if (!memory_class) {
      throw MemoryErrorException(
          MemoryError::Unsupported,
          "device ordinal " + std::to_string(config.device) + " is above 15");
    }
    if (config.capacity > SlotTable<SingleThreaded, HeapArray>::max_capacity) {
      throw MemoryErrorException(MemoryError::Unsupported, "capacity exceeds 2^32 - 2 slots");
    }
    if (!checked_product(config.capacity, slot_stride<P>)) {
      throw MemoryErrorException(MemoryError::Unsupported,
                                 "capacity x slot size overflows the address space");
    }
    BackendOrError made = make_backend({Kind, slot_layout<P>(config.capacity), config});
    if (!made.backend) throw MemoryErrorException(made.error, made.why);
    try {
      return make_cores(*memory_class, std::move(made.backend), config);
    } catch (const std::bad_alloc&) {
      throw MemoryErrorException(MemoryError::OutOfMemory, "the manager's host arrays");
    }
  }

  static Cores make_cores(MemoryClass c, std::unique_ptr<Backend> backend,
                          const ManagerConfig& cfg) {
    const bool wait = cfg.wait_for_pending_frees;
    if (cfg.thread_safe) return std::make_unique<Multi>(c, std::move(backend), wait);
    return std::make_unique<Single>(c, std::move(backend), wait);
  }

  // Single-threaded cores ignore Wait::Yes (they report AlreadyBorrowed), so
  // one setting serves both: thread-safe managers wait like ConcurrentManager.
  static constexpr Wait read_wait = Wait::Yes;
  template <class F>
  decltype(auto) visit_core(F&& f) const {
    return std::visit([&](const auto& core) -> decltype(auto) { return f(*core); }, cores_);
  }
  [[nodiscard]] bool has_core() const noexcept {
    return std::visit([](const auto& core) { return core != nullptr; }, cores_);
  }
  [[nodiscard]] MemoryClass stored_class() const noexcept { return class_; }
  static std::uint32_t home() noexcept { return this_thread_seed(); }
  static constexpr bool samples_peak() noexcept { return true; }

  Cores cores_;
  MemoryClass class_;
  std::string name_;
};

}  // namespace limen::detail
