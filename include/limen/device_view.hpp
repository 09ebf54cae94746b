// SPDX-License-Identifier: Apache-2.0
/**
 * @file device_view.hpp
 * @brief DeviceSlotView<P>: a kernel's view of a manager's payload slots.
 */
#pragma once

#include <limen/config.hpp>
#include <limen/token.hpp>

#include <cstddef>
#include <cstdint>

namespace limen {

/**
 * @brief Base pointer, stride and capacity of a manager's payloads in device
 * address space; index it with a token's index inside a kernel.
 *
 * Trivially copyable, so it is passed to kernels by value. It carries no
 * ordering: work that writes slots through it should hold a DeviceLease on
 * each slot (whose end records the event host reads wait for). In the CPU
 * fallback it addresses the emulated arena, so the same code runs on the host.
 */
template <class P>
class DeviceSlotView {
 public:
  /** @brief An empty view (capacity 0). */
  constexpr DeviceSlotView() noexcept = default;
  /** @brief A view of @p capacity payloads, the first at @p first_payload, @p stride bytes apart.
   */
  constexpr DeviceSlotView(std::byte* first_payload, std::size_t stride,
                           std::uint32_t capacity) noexcept
      : base_(first_payload), stride_(stride), capacity_(capacity) {}

  /** @brief The payload in slot @p index (unchecked). */
  [[nodiscard]] LIMEN_HD P& operator[](std::uint32_t index) const noexcept {
    return *reinterpret_cast<P*>(base_ + static_cast<std::size_t>(index) * stride_);
  }
  /** @brief The payload of the message @p token names (unchecked). */
  [[nodiscard]] LIMEN_HD P& operator[](MessageToken token) const noexcept {
    return (*this)[token.index()];
  }

  /** @brief The first slot's payload. */
  [[nodiscard]] LIMEN_HD std::byte* base() const noexcept { return base_; }
  /** @brief Bytes from one payload to the next. */
  [[nodiscard]] LIMEN_HD std::size_t stride() const noexcept { return stride_; }
  /** @brief How many slots the view covers. */
  [[nodiscard]] LIMEN_HD std::uint32_t capacity() const noexcept { return capacity_; }

 private:
  std::byte* base_ = nullptr;
  std::size_t stride_ = 0;
  std::uint32_t capacity_ = 0;
};

}  // namespace limen
