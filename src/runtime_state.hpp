// SPDX-License-Identifier: Apache-2.0
// Process-wide device health, written by the backends (src/runtime.cpp).
#pragma once

#include <limen/error.hpp>

namespace limen::detail {

/** @brief Remembers that a sticky error made device @p ordinal unusable in this process. */
void report_device_lost(int ordinal, const DeviceErrorInfo& cause) noexcept;

/** @brief Forgets every lost device (fault_injection::reset(), with the CPU device revived). */
void forget_lost_devices() noexcept;

}  // namespace limen::detail
