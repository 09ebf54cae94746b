// SPDX-License-Identifier: Apache-2.0
/**
 * @file device_lease.hpp
 * @brief DeviceLease<P>: a slot lent to device work on one stream.
 */
#pragma once

#include <limen/guard.hpp>
#include <limen/stream.hpp>

#include <cstdint>

namespace limen {

/**
 * @brief Exclusive use of one slot by work queued on one stream.
 *
 * `device_ptr()` is valid on the device for work on `stream()` (for pinned
 * memory, the mapped device pointer). While the lease lives the slot behaves
 * as if a write guard held it. When the lease ends the manager records an
 * event on the stream: the slot is "in flight", host reads wait for that event
 * and a free of it is stream-ordered. Move-only; ending never throws. The
 * stream must stay valid until the lease ends.
 */
template <class P>
class DeviceLease {
 public:
  /** @brief Made by a manager's lease(); ends by calling @p end on @p owner's slot @p index. */
  DeviceLease(P* device_ptr, StreamHandle stream, void* owner, std::uint32_t index,
              detail::ReleaseFn end) noexcept
      : guard_(device_ptr, owner, index, end), stream_(stream) {}

  /** @brief Ends the lease now (records the event); the lease is empty afterwards. */
  void reset() noexcept { guard_.reset(); }

  /** @brief The payload's address for device work on stream(); null once ended. */
  [[nodiscard]] P* device_ptr() const noexcept { return guard_.get(); }
  /** @brief The stream the lease's work runs on. */
  [[nodiscard]] StreamHandle stream() const noexcept { return stream_; }
  /** @brief The slot index (what a DeviceSlotView is indexed with). */
  [[nodiscard]] std::uint32_t index() const noexcept { return guard_.index(); }
  /** @brief Whether the lease still holds its slot. */
  [[nodiscard]] explicit operator bool() const noexcept { return static_cast<bool>(guard_); }

 private:
  detail::SlotGuard<P> guard_;  // its move and reset are the lease's
  StreamHandle stream_;
};

}  // namespace limen
