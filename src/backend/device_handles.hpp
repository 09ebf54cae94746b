// SPDX-License-Identifier: Apache-2.0
// Owning handles over the device seam (streams, events, pools, allocations),
// so that backends declare what they own and tear it down in order; the
// device-scope guard; and the one error helper every call goes through.
#pragma once

#include "../device/api.hpp"

#include <limen/error.hpp>

#include <cstddef>
#include <utility>

namespace limen::detail {

/** @brief What a failed call said: code, name, text, the call and where limen made it. */
[[nodiscard]] DeviceErrorInfo error_info(device::Api& api, device::Status status,
                                         const char* call, const char* where);

/**
 * @brief Removes @p status from this thread's last error if it is the one
 * limen's own call left there. A sticky error never clears, and an earlier,
 * different error of the caller's is never swallowed.
 */
void forget(device::Api& api, device::Status status) noexcept;

/** @brief forget() for calls whose failure only matters as "it failed" (teardown). */
inline bool quietly(device::Api& api, device::Status status) noexcept {
  if (status != device::status::success) forget(api, status);
  return status == device::status::success;
}

/** @brief Makes device @p ordinal current for a scope, restoring the caller's device after. */
class DeviceScope {
 public:
  /** @brief @p only_device: the process has one device, which is current already. */
  DeviceScope(device::Api& api, int ordinal, bool only_device = false) noexcept;
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

  /** @brief success, or why the device could not be made current. */
  [[nodiscard]] device::Status status() const noexcept { return status_; }

 private:
  device::Api& api_;
  int previous_ = -1;
  device::Status status_ = device::status::success;
};

/** @brief Owns one handle and gives it back through the seam when destroyed; move-only. */
template <class Handle, device::Status (device::Api::*Release)(Handle)>
class Owned {
 public:
  Owned() noexcept = default;
  Owned(device::Api& api, Handle handle) noexcept : api_(&api), handle_(handle) {}
  Owned(Owned&& other) noexcept
      : api_(other.api_), handle_(std::exchange(other.handle_, Handle{})) {}
  Owned& operator=(Owned&& other) noexcept {
    if (this != &other) {
      reset();
      api_ = other.api_;
      handle_ = std::exchange(other.handle_, Handle{});
    }
    return *this;
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() { reset(); }

  [[nodiscard]] Handle get() const noexcept { return handle_; }
  [[nodiscard]] explicit operator bool() const noexcept { return handle_ != Handle{}; }
  void reset() noexcept {
    if (handle_ != Handle{}) quietly(*api_, (api_->*Release)(std::exchange(handle_, Handle{})));
  }

 private:
  device::Api* api_ = nullptr;
  Handle handle_{};
};

using OwnedStream = Owned<device::Stream, &device::Api::stream_destroy>;
using OwnedEvent = Owned<device::Event, &device::Api::event_destroy>;
using OwnedPool = Owned<device::Pool, &device::Api::pool_destroy>;

/** @brief How an allocation is given back. */
enum class Memory : unsigned char { PinnedHost, Managed, Device, PoolDevice };

/**
 * @brief One allocation aligned to a given alignment (over-allocating when the
 * allocator's own guarantee, 256 bytes or a page, is smaller). Pool memory
 * goes back with a stream-ordered free on the stream it was made on (the
 * pool releases it once that stream's earlier work is done: no host wait).
 */
class Allocation {
 public:
  Allocation() noexcept = default;
  Allocation(device::Api& api, void* raw, std::size_t alignment, Memory memory,
             device::Stream stream) noexcept;
  Allocation(Allocation&& other) noexcept;
  Allocation& operator=(Allocation&& other) noexcept;
  Allocation(const Allocation&) = delete;
  Allocation& operator=(const Allocation&) = delete;
  ~Allocation();

  /** @brief The aligned start. */
  [[nodiscard]] std::byte* base() const noexcept { return base_; }
  /** @brief Bytes to ask for so that @p bytes fit after aligning to @p alignment. */
  [[nodiscard]] static std::size_t padded(std::size_t bytes, std::size_t alignment) noexcept {
    return (bytes == 0 ? alignment : bytes) + (alignment > 256 ? alignment : 0);
  }

 private:
  void release() noexcept;

  device::Api* api_ = nullptr;
  void* raw_ = nullptr;
  std::byte* base_ = nullptr;
  Memory memory_ = Memory::Device;
  device::Stream stream_ = nullptr;
};

}  // namespace limen::detail
