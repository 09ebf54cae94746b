/**
 * @file class_manager.hpp
 * @brief The typed manager shared by PinnedManager, DeviceManager and SharedManager.
 */
#pragma once

#include <limen/concurrent_manager.hpp>
#include <limen/detail/arena.hpp>
#include <limen/detail/class_core.hpp>
#include <limen/manager_config.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace limen::detail {

/**
 * @brief One implementation for the three CUDA memory classes, chosen by @p Kind.
 *
 * Whether the slot table is the single-threaded or the concurrent one is a
 * run-time choice (`ManagerConfig::thread_safe`), so the core is held as one
 * of two types and every call dispatches to it.
 */
template <class P, MemoryKind Kind>
class ClassManager : public ConcurrentFacade<ClassManager<P, Kind>, P> {
  static_assert(std::is_trivially_copyable_v<P>,
                "limen: pinned, device and shared managers move payloads as raw bytes (to the GPU, "
                "through pinned shadows, into managed memory), so the payload type P must be "
                "trivially copyable. Store other payloads in HeapManager or ConcurrentManager.");
  using Single = ClassCore<P, SingleThreaded>;
  using Multi = ClassCore<P, MultiThreaded>;
  using Cores = std::variant<std::unique_ptr<Single>, std::unique_ptr<Multi>>;
  friend ManagerFacade<ClassManager, P>;
  friend ConcurrentFacade<ClassManager, P>;

 public:
  /** @brief Builds the manager; throws MemoryErrorException (with the reason) on failure. */
  explicit ClassManager(ManagerConfig config) : ClassManager(build_or_throw(std::move(config))) {}

  ClassManager(ClassManager&&) noexcept = default;
  ClassManager& operator=(ClassManager&&) noexcept = default;

  /** @brief True when the CPU fallback serves this manager instead of a GPU. */
  [[nodiscard]] bool emulated() const noexcept { return arena().emulated(); }
  /** @brief The details of the last failed CUDA call (the cause of a DeviceError). */
  [[nodiscard]] std::optional<DeviceErrorInfo> last_device_error() const {
    return arena().last_error();
  }
  /** @brief The stream the manager copies and records events on. */
  [[nodiscard]] StreamHandle stream() const noexcept { return arena().stream(); }
  /**
   * @brief Lends the slot @p token names to device work on @p stream.
   *
   * Conflicts like a write guard: a thread-safe manager waits for other
   * guards, a single-threaded one returns AlreadyBorrowed. Device work queued
   * on @p stream after the slot's previous in-flight work is ordered after it.
   */
  Result<DeviceLease<P>> lease(MessageToken token, StreamHandle stream) {
    return core().visit([&](auto& c) { return c.lease(token, stream, read_wait); });
  }
  /** @brief Like lease(), but AlreadyBorrowed instead of waiting. */
  Result<DeviceLease<P>> try_lease(MessageToken token, StreamHandle stream) {
    return core().visit([&](auto& c) { return c.lease(token, stream, Wait::No); });
  }
  /** @brief Lends the slot to work on this manager's own stream. */
  Result<DeviceLease<P>> lease(MessageToken token) { return lease(token, stream()); }

  /** @brief The payload slots as kernels address them (see DeviceSlotView). */
  [[nodiscard]] DeviceSlotView<P> device_view() const noexcept {
    return core().visit([](auto& c) { return c.device_view(); });
  }

  /** @brief The name given in ManagerConfig. */
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

 protected:
  struct Built {
    Cores cores;
    std::string name;
  };

  explicit ClassManager(Built built) noexcept
      : cores_(std::move(built.cores)), name_(std::move(built.name)) {}

  /** @brief Everything create() needs: the cores, or why they could not be built. */
  static std::pair<std::optional<Built>, ArenaOrError> build(ManagerConfig config) {
    ArenaOrError failure;
    auto memory_class = class_for(config.device);
    if (!memory_class) {
      failure.why = "device ordinal " + std::to_string(config.device) + " is above 15";
      return {std::nullopt, std::move(failure)};
    }
    if (config.capacity > SlotTable<SingleThreaded, HeapArray>::max_capacity) {
      failure.why = "capacity exceeds 2^32 - 2 slots";
      return {std::nullopt, std::move(failure)};
    }
    ArenaSpec spec{Kind, config.capacity, slot_stride<P>, config};
    ArenaOrError made = make_arena(spec);
    if (!made.arena) return {std::nullopt, std::move(made)};
    Built built{make_cores(*memory_class, std::move(made.arena), config), std::move(config.name)};
    return {std::move(built), ArenaOrError{}};
  }

 private:
  static Result<MemoryClass> class_for(unsigned device) {
    if constexpr (Kind == MemoryKind::Device) return MemoryClass::try_device(device);
    if (device > max_device_ordinal) return MemoryError::Unsupported;
    return Kind == MemoryKind::PinnedHost ? MemoryClass::pinned_host() : MemoryClass::shared();
  }

  static Cores make_cores(MemoryClass c, std::unique_ptr<Arena> arena, const ManagerConfig& cfg) {
    const bool wait = cfg.wait_for_pending_frees;
    if (cfg.thread_safe) {
      return std::make_unique<Multi>(c, std::move(arena), cfg.capacity, wait, cfg.name);
    }
    return std::make_unique<Single>(c, std::move(arena), cfg.capacity, wait, cfg.name);
  }

  static Built build_or_throw(ManagerConfig config) {
    auto [built, failure] = build(std::move(config));
    if (!built) throw MemoryErrorException(failure.error, failure.why);
    return std::move(*built);
  }

  /** @brief Forwards each core call to whichever core this manager holds. */
  class CoreRef {
   public:
    explicit CoreRef(const Cores& cores) noexcept : cores_(cores) {}
    template <class F>
    decltype(auto) visit(F&& f) const {
      return std::visit([&](const auto& core) -> decltype(auto) { return f(*core); }, cores_);
    }
    Result<MessageToken> store(const Message<P>& m, std::uint32_t home, bool sample) const {
      return visit([&](auto& c) { return c.store(m, home, sample); });
    }
    Result<ReadGuard<P>> read(MessageToken t, Wait w) const {
      return visit([&](auto& c) { return c.read(t, w); });
    }
    Result<WriteGuard<P>> read_mut(MessageToken t, Wait w) const {
      return visit([&](auto& c) { return c.read_mut(t, w); });
    }
    Result<HeaderGuard> peek_header(MessageToken t, Wait w) const {
      return visit([&](auto& c) { return c.peek_header(t, w); });
    }
    Result<void> free(MessageToken t, std::uint32_t home) const {
      return visit([&](auto& c) { return c.free(t, home); });
    }
    Result<void> retain(MessageToken t) const {
      return visit([&](auto& c) { return c.retain(t); });
    }
    Result<void> release(MessageToken t) const {
      return visit([&](auto& c) { return c.release(t); });
    }
    std::size_t available() const noexcept {
      return visit([](auto& c) { return c.available(); });
    }
    std::size_t capacity() const noexcept {
      return visit([](auto& c) { return c.capacity(); });
    }
    MemoryClass memory_class() const noexcept {
      return visit([](auto& c) { return c.memory_class(); });
    }
    ManagerStats stats() const noexcept {
      return visit([](auto& c) { return c.stats(); });
    }
    const Arena& arena() const noexcept {
      return visit([](auto& c) -> const Arena& { return c.arena(); });
    }

   private:
    const Cores& cores_;
  };

  // Single-threaded cores ignore Wait::Yes (they report AlreadyBorrowed), so
  // one setting serves both: thread-safe managers wait like ConcurrentManager.
  static constexpr Wait read_wait = Wait::Yes;
  CoreRef core() const noexcept { return CoreRef(cores_); }
  static std::uint32_t home() noexcept { return this_thread_seed(); }
  static constexpr bool samples_peak() noexcept { return true; }
  const Arena& arena() const noexcept { return core().arena(); }

  Cores cores_;
  std::string name_;
};

}  // namespace limen::detail
