// SPDX-License-Identifier: Apache-2.0
// The CPU device's settings (see limen/cpu_device.hpp for what they mean).
#pragma once

#include <limen/cpu_device.hpp>

#include <cstdint>

namespace limen::detail::cpu {

inline constexpr unsigned kMaxDevices = 16;

/** @brief The machine the CPU device models, read from the environment once. */
[[nodiscard]] const cpu_device::Settings& machine();

/** @brief The schedule now (it may change at run time). */
[[nodiscard]] bool deferred() noexcept;
[[nodiscard]] std::uint64_t seed() noexcept;
[[nodiscard]] std::uint32_t max_delay_us() noexcept;
void apply_schedule(cpu_device::Schedule schedule, std::uint64_t seed,
                    std::uint32_t max_delay_us) noexcept;

/** @brief machine() with the schedule now. */
[[nodiscard]] cpu_device::Settings settings() noexcept;

}  // namespace limen::detail::cpu
