// SPDX-License-Identifier: Apache-2.0
// Process-wide device health, written by the backends (src/runtime.cpp).
#pragma once

#include <limen/error.hpp>
#include <limen/runtime.hpp>

namespace limen::detail {

namespace device {
class Api;
}

/**
 * @brief The probe behind runtime_info(), over @p cuda (null: built without
 * the CUDA runtime). The GPU path needs a device count and a context on at
 * least one device (the caller's current device first, then the others in
 * order; the devices tried before the first that works get
 * DeviceInfo::context_error); every failure is the CPU device, with the reason,
 * and leaves neither a pending error nor another current device behind. Tests
 * run it over the CPU device with injected Context faults.
 */
[[nodiscard]] RuntimeInfo probe_runtime(device::Api* cuda);

/** @brief Remembers that a sticky error made device @p ordinal unusable in this process. */
void report_device_lost(int ordinal, const DeviceErrorInfo& cause) noexcept;

/** @brief Forgets every lost device (fault_injection::reset(), with the CPU device revived). */
void forget_lost_devices() noexcept;

}  // namespace limen::detail
