// SPDX-License-Identifier: Apache-2.0
// The CPU device's settings (see limen/cpu_device.hpp for what they mean).
#pragma once

#include <limen/cpu_device.hpp>

#include <atomic>
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

// --- The fast paths -------------------------------------------------------------------
// On the immediate schedule, with nothing unusual going on, the hot calls (a
// copy, an event record, query or wait) take a short path; each reason they
// may not is one bit here, set and cleared where it arises.

inline constexpr unsigned kUnread = 1;    ///< the settings were not read yet
inline constexpr unsigned kDeferred = 2;  ///< the deferred schedule
inline constexpr unsigned kHolding = 4;   ///< fault_injection::hold_events
inline constexpr unsigned kCapture = 8;   ///< fault_injection::simulate_capture
inline constexpr unsigned kFaults = 16;   ///< injected faults pending
inline constexpr unsigned kSticky = 32;   ///< a device is lost
inline constexpr unsigned kCapturing = 64;  ///< a stream is being captured

extern std::atomic<unsigned> unusual;

/** @brief Whether the fast paths may be taken. */
[[nodiscard]] inline bool usual() noexcept { return unusual.load(std::memory_order_acquire) == 0; }

/** @brief Sets or clears one reason of `unusual`. */
void set_unusual(unsigned reason, bool on) noexcept;

}  // namespace limen::detail::cpu
