// SPDX-License-Identifier: Apache-2.0
// What the CPU device offers beyond the seam: the test hooks of
// limen/fault_injection.hpp and the host tasks of limen/cpu_device.hpp.
#pragma once

#include "api.hpp"

#include <functional>

namespace limen::detail::cpu {

/** @brief Clears every device's sticky error and peer access (a test-only power). */
void revive_devices() noexcept;

/**
 * @brief Whether a kernel on @p device may touch @p ptr: host memory and its own
 * device memory always; another device's only through pool access
 * (cudaMemPoolSetAccess) or, for a plain allocation, peer access
 * (cudaDeviceEnablePeerAccess on @p device).
 */
[[nodiscard]] bool reachable_from(const void* ptr, int device);

/**
 * @brief A kernel on @p device touched memory it may not: the device's sticky
 * cudaErrorIllegalAddress, reported by the next call on it (as on a GPU, where
 * the fault surfaces at the next synchronising call).
 */
void kernel_fault(int device) noexcept;

/** @brief Queues @p task on @p stream as a kernel would run; invalid_resource_handle if foreign. */
device::Status launch_host_task(device::Stream stream, std::function<void()> task);

}  // namespace limen::detail::cpu
