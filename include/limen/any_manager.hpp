// SPDX-License-Identifier: Apache-2.0
/**
 * @file any_manager.hpp
 * @brief AnyManager<P> and make_manager: pick the backend at run time by MemoryClass.
 */
#pragma once

#include <limen/concurrent_manager.hpp>
#include <limen/detail/concurrent_facade.hpp>
#include <limen/detail/core_holders.hpp>
#include <limen/detail/core_interface.hpp>
#include <limen/device_manager.hpp>
#include <limen/heap_manager.hpp>
#include <limen/manager_config.hpp>
#include <limen/pinned_manager.hpp>
#include <limen/shared_manager.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

namespace limen {

/**
 * @brief Any manager of `Message<P>`, behind one type.
 *
 * The same calls as every manager (ManagerFacade over CoreInterface, the
 * interface the backend-served managers use too); guards are the same types,
 * so nothing is allocated per operation (one virtual call each). Thread
 * safety is the wrapped manager's; read() and read_mut() wait where it waits,
 * try_read() and try_read_mut() never do. A moved-from AnyManager is empty:
 * capacity 0, store returns Unsupported, every token BadToken.
 */
template <class P>
class AnyManager : public detail::ConcurrentFacade<detail::OwnedCore<detail::CoreInterface<P>>, P> {
  using Interface = detail::CoreInterface<P>;
  using Base = detail::ConcurrentFacade<detail::OwnedCore<Interface>, P>;
  template <class M>
  class Model;

 public:
  /** @brief Wraps a movable manager. */
  template <class M>
  requires(!std::is_same_v<std::remove_cvref_t<M>, AnyManager>) explicit AnyManager(M manager)
      : Base(wrap(std::move(manager))) {}

  /** @brief Builds a manager of type M in place (for ones that cannot move, like StaticManager). */
  template <class M, class... Args>
  explicit AnyManager(std::in_place_type_t<M>, Args&&... args)
      : Base(std::make_unique<Model<M>>(std::forward<Args>(args)...)) {}

  /**
   * @brief Stores every message of @p messages or none: the backend-served
   * managers' store_batch() (one upload and one scatter for device memory) on
   * @p stream; host managers copy them one by one and take them back on any
   * failure (a throwing copy too, whose exception then propagates). A failed
   * batch counts as one failed store. Unsupported for a move-only payload (a
   * batch copies its messages); the rest of AnyManager works with one.
   */
  Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>> messages,
                                                StreamHandle stream) {
    if (!this->has_core()) [[unlikely]]
      return MemoryError::Unsupported;
    return this->core().store_batch(messages, &stream, this->home());
  }
  /** @brief store_batch() on the wrapped manager's own stream. */
  Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>> messages) {
    if (!this->has_core()) [[unlikely]]
      return MemoryError::Unsupported;
    return this->core().store_batch(messages, nullptr, this->home());
  }
  /** @brief True when the CPU fallback emulates this manager's class (never for host). */
  [[nodiscard]] bool emulated() const noexcept {
    return this->has_core() && this->core().emulated();
  }
  /** @brief The last failed CUDA call (device-backed classes only). */
  [[nodiscard]] std::optional<DeviceErrorInfo> last_device_error() const {
    return this->has_core() ? this->core().last_device_error() : std::nullopt;
  }

 private:
  /**
   * @brief The core for @p manager: a pinned, device or managed manager's own
   * core (it already has this interface), any other manager behind a Model.
   */
  template <class M>
  static std::unique_ptr<Interface> wrap(M manager) {
    if constexpr (std::is_base_of_v<detail::BackendManager<P>, M>) {
      auto& backend = static_cast<detail::BackendManager<P>&>(manager);
      if (backend.has_core()) return backend.take_core();
      return std::make_unique<Model<M>>(std::move(manager));  // moved from: empty, its class kept
    } else {
      return std::make_unique<Model<M>>(std::move(manager));
    }
  }
};

/**
 * @brief The adapter from a concrete manager M to CoreInterface: each
 * operation is M's own call (the home shard and peak hint are M's business).
 */
template <class P>
template <class M>
class AnyManager<P>::Model final : public detail::CoreInterface<P> {
 public:
  template <class... Args>
  explicit Model(Args&&... args) : m_(std::forward<Args>(args)...) {}

 private:
  using Wait = detail::Wait;

  Result<MessageToken> do_store(Message<P>&& message, std::uint32_t, bool) override {
    return m_.store(std::move(message));
  }
  Result<MessageToken> do_store_copy(const Message<P>& message, std::uint32_t, bool) override {
    if constexpr (std::copy_constructible<P>) {
      return m_.store(message);
    } else {
      (void)message;  // CoreInterface::store(const&) needs a copyable P: never reached
      return MemoryError::Unsupported;
    }
  }
  Result<std::vector<MessageToken>> do_store_batch(std::span<const Message<P>> messages,
                                                   const StreamHandle* stream,
                                                   std::uint32_t) override {
    if constexpr (!std::copy_constructible<P>) {
      (void)messages, (void)stream;  // a batch copies its messages: not for move-only payloads
      return MemoryError::Unsupported;
    } else if constexpr (requires { m_.store_batch(messages, *stream); }) {
      return stream != nullptr ? m_.store_batch(messages, *stream) : m_.store_batch(messages);
    } else {
      (void)stream;  // host managers: no stream
      return m_.store_batch(messages);
    }
  }
  Result<ReadGuard<P>> do_read(MessageToken t, Wait wait) const override {
    if constexpr (requires { m_.try_read(t); }) {
      if (wait == Wait::No) return m_.try_read(t);
    }
    return m_.read(t);  // managers without try_read never wait
  }
  Result<WriteGuard<P>> do_read_mut(MessageToken t, Wait wait) override {
    if constexpr (requires { m_.try_read_mut(t); }) {
      if (wait == Wait::No) return m_.try_read_mut(t);
    }
    return m_.read_mut(t);
  }
  Result<HeaderGuard> do_peek_header(MessageToken t, Wait) const override {
    return m_.peek_header(t);
  }
  Result<void> do_free(MessageToken t, std::uint32_t) override { return m_.free(t); }
  Result<void> do_retain(MessageToken t) override { return m_.retain(t); }
  Result<void> do_release(MessageToken t) override { return m_.release(t); }
  std::size_t do_available() const noexcept override { return m_.available(); }
  std::size_t do_capacity() const noexcept override { return m_.capacity(); }
  ManagerStats do_stats() const noexcept override { return m_.stats(); }
  MemoryClass do_memory_class() const noexcept override { return m_.memory_class(); }
  bool do_emulated() const noexcept override {
    if constexpr (requires { m_.emulated(); }) {
      return m_.emulated();
    } else {
      return false;
    }
  }
  std::optional<DeviceErrorInfo> do_last_device_error() const override {
    if constexpr (requires { m_.last_device_error(); }) {
      return m_.last_device_error();
    } else {
      return std::nullopt;
    }
  }

  M m_;
};

/**
 * @brief Builds the manager for @p memory_class: a host manager (HeapManager,
 * or ConcurrentManager when `config.thread_safe`), PinnedManager, DeviceManager
 * (on the class's ordinal, overriding `config.device`) or SharedManager.
 *
 * Returns `Unsupported` for a non-host class when P is not trivially copyable,
 * for a capacity out of range, or when no GPU works and `config.fallback` is
 * `Fail`; `DeviceError` when the GPU refused an allocation; `OutOfMemory` when
 * the host could not allocate the manager's arrays. Never throws those.
 */
template <class P>
Result<AnyManager<P>> make_manager(MemoryClass memory_class, ManagerConfig config = {}) {
  auto wrap = [](auto made) -> Result<AnyManager<P>> {
    if (!made) return made.error();
    return AnyManager<P>(std::move(*made));
  };
  const detail::KindTraits& kind = detail::kind_traits(memory_class.kind());
  if (!kind.backend_served) {
    const auto host = MemoryClass::host();
    if (config.thread_safe)
      return wrap(ConcurrentManager<P>::create(config.capacity, host, config.name));
    return wrap(HeapManager<P>::create(config.capacity, host, config.name));
  }
  if constexpr (!std::is_trivially_copyable_v<P>) {
    return MemoryError::Unsupported;
  } else {
    // Every backend-served kind is the same manager built with its kind.
    struct OfKind : detail::BackendManager<P> {
      OfKind(MemoryKind k, ManagerConfig c) : detail::BackendManager<P>(k, std::move(c)) {}
    };
    if (kind.has_ordinal) config.device = memory_class.device_ordinal();
    return wrap(detail::create_manager<OfKind>(memory_class.kind(), std::move(config)));
  }
}

}  // namespace limen
