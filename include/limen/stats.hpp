// SPDX-License-Identifier: Apache-2.0
/**
 * @file stats.hpp
 * @brief ManagerStats: counters every manager reports through `stats()`.
 */
#pragma once

#include <cstdint>

namespace limen {

/**
 * @brief A snapshot of a manager's counters.
 *
 * Host managers never copy between host and device, so the byte and
 * synchronization counters stay 0 there; the pinned, device and shared
 * backends fill them (on the CPU device too).
 */
struct ManagerStats {
  std::uint64_t stores = 0;         ///< successful stores
  std::uint64_t frees = 0;          ///< successful frees
  std::uint64_t failed_stores = 0;  ///< stores that returned an error
  std::uint64_t in_use = 0;         ///< occupied slots now
  std::uint64_t peak_in_use = 0;    ///< highest `in_use` seen (see each manager for precision)
  std::uint64_t pending_frees = 0;  ///< freed slots not yet reusable: device work still uses them
  std::uint64_t bytes_host_to_device = 0;  ///< payload bytes copied host -> device
  std::uint64_t bytes_device_to_host = 0;  ///< payload bytes copied device -> host
  std::uint64_t synchronizations = 0;      ///< stream/prefetch synchronizations waited on
  /// Slots set aside for good: a device batch wrote them but its work could be
  /// neither marked by an event nor waited for, so they are never handed out
  /// or reused (pinned, device and shared managers; 0 elsewhere).
  std::uint64_t quarantined = 0;

  /** @brief Every counter equal. */
  friend bool operator==(const ManagerStats&, const ManagerStats&) = default;
};

}  // namespace limen
