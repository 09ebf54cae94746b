// SPDX-License-Identifier: Apache-2.0
/**
 * @file any_manager.hpp
 * @brief AnyManager<P> and make_manager: pick the backend at run time by MemoryClass.
 */
#pragma once

#include <limen/concurrent_manager.hpp>
#include <limen/device_manager.hpp>
#include <limen/heap_manager.hpp>
#include <limen/manager_config.hpp>
#include <limen/pinned_manager.hpp>
#include <limen/shared_manager.hpp>

#include <concepts>
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
 * The same calls as every manager; guards are the same types too, so nothing
 * is allocated per operation (one virtual call each). Thread safety is the
 * wrapped manager's. A moved-from AnyManager is empty: capacity 0, store
 * returns Unsupported, every token BadToken.
 */
template <class P>
class AnyManager {
 public:
  using payload_type = P;                   ///< the payload type
  using ReadGuard = limen::ReadGuard<P>;    ///< what read() gives: shared access
  using WriteGuard = limen::WriteGuard<P>;  ///< what read_mut() gives: exclusive access
  using HeaderGuard = limen::HeaderGuard;   ///< what peek_header() gives

  /** @brief Wraps a movable manager. */
  template <class M>
  requires(!std::is_same_v<std::remove_cvref_t<M>, AnyManager>) explicit AnyManager(M manager)
      : impl_(std::make_unique<Model<M>>(std::move(manager))), class_(impl_->memory_class()) {}

  /** @brief Builds a manager of type M in place (for ones that cannot move, like StaticManager). */
  template <class M, class... Args>
  explicit AnyManager(std::in_place_type_t<M>, Args&&... args)
      : impl_(std::make_unique<Model<M>>(std::forward<Args>(args)...)),
        class_(impl_->memory_class()) {}

  /** @brief Stores @p message in a free slot: its token, or NoFreeSlots (see MemoryManager). */
  Result<MessageToken> store(Message<P> message) {
    if (!impl_) [[unlikely]]
      return MemoryError::Unsupported;
    return impl_->store(std::move(message));
  }
  /** @brief Shared access to the message @p t names (waits like the wrapped manager). */
  /**
   * @brief Stores every message of @p messages or none: the class managers'
   * store_batch() (one upload and one scatter for device memory) on @p stream;
   * host managers copy them one by one and take them back on any failure (a
   * throwing copy too, whose exception then propagates). A failed batch
   * counts as one failed store. Unsupported for a move-only payload (a batch
   * copies its messages); the rest of AnyManager works with one.
   */
  Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>> messages,
                                                StreamHandle stream) {
    if (!impl_) [[unlikely]]
      return MemoryError::Unsupported;
    return impl_->store_batch(messages, &stream);
  }
  /** @brief store_batch() on the wrapped manager's own stream. */
  Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>> messages) {
    if (!impl_) [[unlikely]]
      return MemoryError::Unsupported;
    return impl_->store_batch(messages, nullptr);
  }
  /** @brief Shared access to the message @p t names (waits like the wrapped manager). */
  Result<ReadGuard> read(MessageToken t) const { return on_token(&Concept::read, t); }
  /** @brief Exclusive access to the message @p t names (waits like the wrapped manager). */
  Result<WriteGuard> read_mut(MessageToken t) { return on_token(&Concept::read_mut, t); }
  /** @brief read() that never waits: AlreadyBorrowed instead (same as read() for managers that
   * never wait). */
  Result<ReadGuard> try_read(MessageToken t) const { return on_token(&Concept::try_read, t); }
  /** @brief read_mut() that never waits: AlreadyBorrowed instead. */
  Result<WriteGuard> try_read_mut(MessageToken t) { return on_token(&Concept::try_read_mut, t); }
  /** @brief The header of the message @p t names; never touches device memory. */
  Result<HeaderGuard> peek_header(MessageToken t) const {
    return on_token(&Concept::peek_header, t);
  }
  /** @brief Releases the slot (stream-ordered where device work uses it). */
  Result<void> free(MessageToken t) { return on_token(&Concept::free, t); }
  /** @brief Marks @p t queue-owned: free() fails with QueueOwned until release(). */
  Result<void> retain(MessageToken t) { return on_token(&Concept::retain, t); }
  /** @brief Undoes one retain(). */
  Result<void> release(MessageToken t) { return on_token(&Concept::release, t); }
  /** @brief Slots a store could use now (0 once moved from). */
  [[nodiscard]] std::size_t available() const noexcept { return impl_ ? impl_->available() : 0; }
  /** @brief Total slots (0 once moved from). */
  [[nodiscard]] std::size_t capacity() const noexcept { return impl_ ? impl_->capacity() : 0; }
  /** @brief The wrapped manager's memory class. */
  [[nodiscard]] MemoryClass memory_class() const noexcept { return class_; }
  /** @brief The wrapped manager's counters (all zero once moved from). */
  [[nodiscard]] ManagerStats stats() const noexcept {
    return impl_ ? impl_->stats() : ManagerStats{};
  }
  /** @brief True when the CPU fallback emulates this manager's class (never for host). */
  [[nodiscard]] bool emulated() const noexcept { return impl_ && impl_->emulated(); }
  /** @brief The last failed CUDA call (device-backed classes only). */
  [[nodiscard]] std::optional<DeviceErrorInfo> last_device_error() const {
    return impl_ ? impl_->last_device_error() : std::nullopt;
  }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual Result<MessageToken> store(Message<P>&&) = 0;
    virtual Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>>,
                                                          const StreamHandle*) = 0;
    virtual Result<ReadGuard> read(MessageToken) const = 0;
    virtual Result<WriteGuard> read_mut(MessageToken) = 0;
    virtual Result<ReadGuard> try_read(MessageToken) const = 0;
    virtual Result<WriteGuard> try_read_mut(MessageToken) = 0;
    virtual Result<HeaderGuard> peek_header(MessageToken) const = 0;
    virtual Result<void> free(MessageToken) = 0;
    virtual Result<void> retain(MessageToken) = 0;
    virtual Result<void> release(MessageToken) = 0;
    virtual std::size_t available() const noexcept = 0;
    virtual std::size_t capacity() const noexcept = 0;
    virtual MemoryClass memory_class() const noexcept = 0;
    virtual ManagerStats stats() const noexcept = 0;
    virtual bool emulated() const noexcept = 0;
    virtual std::optional<DeviceErrorInfo> last_device_error() const = 0;
  };

  template <class M>
  struct Model final : Concept {
    template <class... Args>
    explicit Model(Args&&... args) : m(std::forward<Args>(args)...) {}

    Result<MessageToken> store(Message<P>&& msg) override { return m.store(std::move(msg)); }
    Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>> messages,
                                                  const StreamHandle* stream) override {
      if constexpr (!std::copy_constructible<P>) {
        (void)messages, (void)stream;  // a batch copies its messages: not for move-only payloads
        return MemoryError::Unsupported;
      } else if constexpr (requires { m.store_batch(messages, *stream); }) {
        return stream != nullptr ? m.store_batch(messages, *stream) : m.store_batch(messages);
      } else {
        return m.store_batch(messages);  // host managers: no stream
      }
    }
    Result<ReadGuard> read(MessageToken t) const override { return m.read(t); }
    Result<WriteGuard> read_mut(MessageToken t) override { return m.read_mut(t); }
    Result<ReadGuard> try_read(MessageToken t) const override {
      if constexpr (requires { m.try_read(t); })
        return m.try_read(t);
      else
        return m.read(t);
    }
    Result<WriteGuard> try_read_mut(MessageToken t) override {
      if constexpr (requires { m.try_read_mut(t); })
        return m.try_read_mut(t);
      else
        return m.read_mut(t);
    }
    Result<HeaderGuard> peek_header(MessageToken t) const override { return m.peek_header(t); }
    Result<void> free(MessageToken t) override { return m.free(t); }
    Result<void> retain(MessageToken t) override { return m.retain(t); }
    Result<void> release(MessageToken t) override { return m.release(t); }
    std::size_t available() const noexcept override { return m.available(); }
    std::size_t capacity() const noexcept override { return m.capacity(); }
    MemoryClass memory_class() const noexcept override { return m.memory_class(); }
    ManagerStats stats() const noexcept override { return m.stats(); }
    bool emulated() const noexcept override {
      if constexpr (requires { m.emulated(); })
        return m.emulated();
      else
        return false;
    }
    std::optional<DeviceErrorInfo> last_device_error() const override {
      if constexpr (requires { m.last_device_error(); })
        return m.last_device_error();
      else
        return std::nullopt;
    }

    M m;
  };

  /// Calls @p call on the wrapped manager, or BadToken once moved from.
  template <class R, class C>
  R on_token(R (C::*call)(MessageToken) const, MessageToken t) const {
    if (!impl_) [[unlikely]]
      return MemoryError::BadToken;
    return ((*impl_).*call)(t);
  }
  template <class R, class C>
  R on_token(R (C::*call)(MessageToken), MessageToken t) {
    if (!impl_) [[unlikely]]
      return MemoryError::BadToken;
    return ((*impl_).*call)(t);
  }

  std::unique_ptr<Concept> impl_;
  MemoryClass class_;
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
  if (memory_class.kind() == MemoryKind::Host) {
    const auto host = MemoryClass::host();
    if (config.thread_safe)
      return wrap(ConcurrentManager<P>::create(config.capacity, host, config.name));
    return wrap(HeapManager<P>::create(config.capacity, host, config.name));
  }
  if constexpr (!std::is_trivially_copyable_v<P>) {
    return MemoryError::Unsupported;
  } else {
    switch (memory_class.kind()) {
      case MemoryKind::PinnedHost: return wrap(PinnedManager<P>::create(std::move(config)));
      case MemoryKind::Device:
        config.device = memory_class.device_ordinal();
        return wrap(DeviceManager<P>::create(std::move(config)));
      default: return wrap(SharedManager<P>::create(std::move(config)));
    }
  }
}

}  // namespace limen
