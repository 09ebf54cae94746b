// SPDX-License-Identifier: Apache-2.0
/**
 * @file core_interface.hpp
 * @brief The manager interface as one abstract class: what AnyManager and the
 * backend-served managers (pinned, device, managed) call through a pointer.
 */
#pragma once

#include <limen/detail/sync_policy.hpp>
#include <limen/device_lease.hpp>
#include <limen/device_view.hpp>
#include <limen/error.hpp>
#include <limen/guard.hpp>
#include <limen/memory_class.hpp>
#include <limen/message.hpp>
#include <limen/result.hpp>
#include <limen/stats.hpp>
#include <limen/stream.hpp>
#include <limen/token.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace limen::detail {

/**
 * @brief A storage core behind a pointer: a public non-virtual interface over
 * private virtual operations (the shape of RMM's device_memory_resource).
 *
 * One virtual call per operation costs nothing next to what these cores do
 * (a device copy, a stream query, a wrapped manager's own call), and it keeps
 * one compiled copy of each manager instead of one per memory class.
 * `home` is the caller's free-list shard; `sample_peak` asks for the
 * high-water mark to be updated now (cores may sample it anyway).
 */
template <class P>
class CoreInterface {
 public:
  virtual ~CoreInterface() = default;
  CoreInterface(const CoreInterface&) = delete;
  CoreInterface& operator=(const CoreInterface&) = delete;

  Result<MessageToken> store(Message<P>&& message, std::uint32_t home, bool sample_peak) {
    return do_store(std::move(message), home, sample_peak);
  }
  Result<MessageToken> store(const Message<P>& message, std::uint32_t home,
                             bool sample_peak) requires std::copy_constructible<P> {
    return do_store_copy(message, home, sample_peak);
  }
  /** @brief On @p stream, or on the core's own stream when it is null (host cores have none). */
  Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>> messages,
                                                const StreamHandle* stream, std::uint32_t home) {
    return do_store_batch(messages, stream, home);
  }
  /** @brief The same on the core's own stream (the facade's spelling). */
  Result<std::vector<MessageToken>> store_batch(std::span<const Message<P>> messages,
                                                std::uint32_t home) {
    return do_store_batch(messages, nullptr, home);
  }
  Result<ReadGuard<P>> read(MessageToken token, Wait wait) const { return do_read(token, wait); }
  Result<WriteGuard<P>> read_mut(MessageToken token, Wait wait) { return do_read_mut(token, wait); }
  Result<HeaderGuard> peek_header(MessageToken token, Wait wait) const {
    return do_peek_header(token, wait);
  }
  Result<void> free(MessageToken token, std::uint32_t home) { return do_free(token, home); }
  Result<void> retain(MessageToken token) { return do_retain(token); }
  Result<void> release(MessageToken token) { return do_release(token); }
  [[nodiscard]] std::size_t available() const noexcept { return do_available(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return do_capacity(); }
  [[nodiscard]] ManagerStats stats() const noexcept { return do_stats(); }
  [[nodiscard]] MemoryClass memory_class() const noexcept { return do_memory_class(); }
  /** @brief Whether the CPU fallback serves this core's memory class. */
  [[nodiscard]] bool emulated() const noexcept { return do_emulated(); }
  /** @brief The last failed device call, for device-backed cores. */
  [[nodiscard]] std::optional<DeviceErrorInfo> last_device_error() const {
    return do_last_device_error();
  }

 protected:
  CoreInterface() = default;

 private:
  virtual Result<MessageToken> do_store(Message<P>&&, std::uint32_t, bool) = 0;
  /// Only reached through store(const&), which needs a copyable P.
  virtual Result<MessageToken> do_store_copy(const Message<P>&, std::uint32_t, bool) = 0;
  virtual Result<std::vector<MessageToken>> do_store_batch(std::span<const Message<P>>,
                                                           const StreamHandle*, std::uint32_t) = 0;
  virtual Result<ReadGuard<P>> do_read(MessageToken, Wait) const = 0;
  virtual Result<WriteGuard<P>> do_read_mut(MessageToken, Wait) = 0;
  virtual Result<HeaderGuard> do_peek_header(MessageToken, Wait) const = 0;
  virtual Result<void> do_free(MessageToken, std::uint32_t) = 0;
  virtual Result<void> do_retain(MessageToken) = 0;
  virtual Result<void> do_release(MessageToken) = 0;
  virtual std::size_t do_available() const noexcept = 0;
  virtual std::size_t do_capacity() const noexcept = 0;
  virtual ManagerStats do_stats() const noexcept = 0;
  virtual MemoryClass do_memory_class() const noexcept = 0;
  virtual bool do_emulated() const noexcept = 0;
  virtual std::optional<DeviceErrorInfo> do_last_device_error() const = 0;
};

/**
 * @brief The core of a backend-served manager (pinned, device, managed): the
 * manager interface plus device work on slots (leases, gather, scatter).
 */
template <class P>
class BackendCoreInterface : public CoreInterface<P> {
 public:
  /** @brief Lends slot @p token to work on @p stream (see DeviceLease). */
  Result<DeviceLease<P>> lease(MessageToken token, StreamHandle stream, Wait wait) {
    return do_lease(token, stream, wait);
  }
  /** @brief The payloads of @p tokens into the device array @p out, on @p stream. */
  Result<void> gather(std::span<const MessageToken> tokens, P* out, StreamHandle stream) {
    return do_gather(tokens, out, stream);
  }
  /** @brief @p in's payloads into the slots of @p tokens, on @p stream. */
  Result<void> scatter(const P* in, std::span<const MessageToken> tokens, StreamHandle stream) {
    return do_scatter(in, tokens, stream);
  }
  /** @brief The payload slots as kernels address them. */
  [[nodiscard]] DeviceSlotView<P> device_view() const noexcept { return do_device_view(); }
  /** @brief The stream the core's own work uses. */
  [[nodiscard]] StreamHandle stream() const noexcept { return do_stream(); }

 private:
  virtual Result<DeviceLease<P>> do_lease(MessageToken, StreamHandle, Wait) = 0;
  virtual Result<void> do_gather(std::span<const MessageToken>, P*, StreamHandle) = 0;
  virtual Result<void> do_scatter(const P*, std::span<const MessageToken>, StreamHandle) = 0;
  virtual DeviceSlotView<P> do_device_view() const noexcept = 0;
  virtual StreamHandle do_stream() const noexcept = 0;
};

}  // namespace limen::detail
