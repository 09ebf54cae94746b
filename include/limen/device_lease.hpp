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
 * stream must stay valid until the lease ends. A lease must not end on a
 * stream that is being captured into a graph: nothing could then order host
 * access after the graph's launches, so the slot is left Poisoned and, once
 * freed, never reused (README, "Graph capture").
 */
template <class P>
class DeviceLease {
 public:
  /**
   * @brief Made by a manager's lease(); ends by calling @p end on @p owner's
   * slot @p index, recording the slot's event on `*end_stream`.
   */
  DeviceLease(P* device_ptr, StreamHandle stream, StreamHandle* end_stream, void* owner,
              std::uint32_t index, detail::ReleaseFn end) noexcept
      : guard_(device_ptr, owner, index, end), stream_(stream), end_stream_(end_stream) {}

  /** @brief Takes @p other's lease; @p other is empty afterwards. */
  DeviceLease(DeviceLease&&) noexcept = default;
  /** @brief Ends this lease (if any) and takes @p other's. */
  DeviceLease& operator=(DeviceLease&& other) noexcept = default;

  /** @brief Ends the lease now (records the event on stream()); the lease is empty afterwards. */
  void reset() noexcept { guard_.reset(); }

  /**
   * @brief Ends the lease on @p end instead of stream(): the slot's event is
   * recorded there, after the work queued on @p end so far. For work that
   * continues on another stream of the manager's device, such as the
   * launches of a graph captured on stream(): end the lease on the launch
   * stream after the last launch.
   */
  void reset(StreamHandle end) noexcept {
    if (guard_) *end_stream_ = end;
    guard_.reset();
  }

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
  StreamHandle* end_stream_ = nullptr;  ///< the manager's record of where the lease ends
};

}  // namespace limen
