// SPDX-License-Identifier: Apache-2.0
// Process-wide device health, written by the GPU backends (src/runtime.cpp).
#pragma once

#include <limen/error.hpp>

namespace limen::detail {

/** @brief Remembers that a sticky error made device @p ordinal unusable in this process. */
void report_device_lost(int ordinal, const DeviceErrorInfo& cause) noexcept;

}  // namespace limen::detail
