/**
 * @file device_lease.hpp
 * @brief DeviceLease<P>: a slot lent to device work on one stream.
 */
#pragma once

#include <limen/stream.hpp>

#include <cstdint>
#include <utility>

namespace limen {

namespace detail {
/** @brief Ends a lease on slot @p index: records the slot's event on @p stream. */
using LeaseEndFn = void (*)(void* owner, std::uint32_t index, StreamHandle stream) noexcept;
}  // namespace detail

/**
 * @brief Exclusive use of one slot by work queued on one stream.
 *
 * `device_ptr()` is valid on the device for work on `stream()` (for pinned
 * memory, the mapped device pointer). While the lease lives the slot behaves
 * as if a write guard held it. When the lease ends the manager records an
 * event on the stream: the slot is "in flight", host reads wait for that event
 * and a free of it is stream-ordered. Move-only; ending never throws.
 */
template <class P>
class DeviceLease {
 public:
  DeviceLease(P* device_ptr, StreamHandle stream, void* owner, std::uint32_t index,
              detail::LeaseEndFn end) noexcept
      : ptr_(device_ptr), stream_(stream), owner_(owner), end_(end), index_(index) {}

  DeviceLease(DeviceLease&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)),
        stream_(other.stream_),
        owner_(other.owner_),
        end_(std::exchange(other.end_, nullptr)),
        index_(other.index_) {}

  DeviceLease& operator=(DeviceLease&& other) noexcept {
    if (this != &other) {
      reset();
      ptr_ = std::exchange(other.ptr_, nullptr);
      stream_ = other.stream_;
      owner_ = other.owner_;
      end_ = std::exchange(other.end_, nullptr);
      index_ = other.index_;
    }
    return *this;
  }

  DeviceLease(const DeviceLease&) = delete;
  DeviceLease& operator=(const DeviceLease&) = delete;
  ~DeviceLease() { reset(); }

  /** @brief Ends the lease now (records the event); the lease is empty afterwards. */
  void reset() noexcept {
    if (end_ != nullptr) std::exchange(end_, nullptr)(owner_, index_, stream_);
    ptr_ = nullptr;
  }

  /** @brief The payload's address for device work on stream(). */
  [[nodiscard]] P* device_ptr() const noexcept { return ptr_; }
  /** @brief The stream the lease's work runs on. */
  [[nodiscard]] StreamHandle stream() const noexcept { return stream_; }
  /** @brief The slot index (what a DeviceSlotView is indexed with). */
  [[nodiscard]] std::uint32_t index() const noexcept { return index_; }
  [[nodiscard]] explicit operator bool() const noexcept { return end_ != nullptr; }

 private:
  P* ptr_;
  StreamHandle stream_;
  void* owner_;
  detail::LeaseEndFn end_;
  std::uint32_t index_;
};

}  // namespace limen
