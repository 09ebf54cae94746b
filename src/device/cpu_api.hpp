// SPDX-License-Identifier: Apache-2.0
// What the CPU device offers beyond the seam: the test hooks of
// limen/fault_injection.hpp and the host tasks of limen/cpu_device.hpp.
#pragma once

#include "api.hpp"

#include <functional>

namespace limen::detail::cpu {

/** @brief Clears every device's sticky error and peer access (a test-only power). */
void revive_devices() noexcept;

/** @brief Queues @p task on @p stream as a kernel would run; invalid_resource_handle if foreign. */
device::Status launch_host_task(device::Stream stream, std::function<void()> task);

}  // namespace limen::detail::cpu
