// SPDX-License-Identifier: Apache-2.0
/**
 * @file device_health.hpp
 * @brief DeviceHealth: the last failed CUDA call of one object and whether a
 * sticky error made its device unusable ("device lost").
 */
#pragma once

#include <limen/error.hpp>

#include <atomic>
#include <mutex>
#include <optional>
#include <utility>

namespace limen::detail {

/** @brief Thread-safe record of failures; once lost, the cause is kept. */
class DeviceHealth {
 public:
  /** @brief Whether a sticky CUDA error made the device unusable. */
  [[nodiscard]] bool lost() const noexcept { return lost_.load(std::memory_order_acquire); }

  /** @brief The last failed CUDA call (the cause, once lost), if any. */
  [[nodiscard]] std::optional<DeviceErrorInfo> last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
  }

  /** @brief Keeps @p info (never replacing a lost device's cause); returns DeviceError. */
  MemoryError fail(DeviceErrorInfo info, bool sticky) {
    std::lock_guard lock(mutex_);
    if (!lost()) last_error_ = std::move(info);
    if (sticky) lost_.store(true, std::memory_order_release);
    return MemoryError::DeviceError;
  }

 private:
  std::atomic<bool> lost_{false};
  mutable std::mutex mutex_;
  std::optional<DeviceErrorInfo> last_error_;
};

}  // namespace limen::detail
