// SPDX-License-Identifier: Apache-2.0
// Fault injection as the CPU device meets it (src/fault_injection.cpp keeps
// the state behind limen/fault_injection.hpp; a library built without the
// hooks answers "never").
#pragma once

#include <cstdint>

namespace limen::detail {

/** @brief The kinds of device call a fault can be injected into. */
enum class InjectedCall : std::uint8_t {
  Allocation,
  Copy,
  Synchronize,
  EventRecord,
  EventQuery,
  Context,
  DeviceCount,
};

/**
 * @brief Consumes one injected fault for @p call: its CUDA error code, or 0.
 * (An int, not an optional: this is on every device call's path, and a small
 * optional returned through memory stalls store forwarding.)
 */
int take_fault(InjectedCall call) noexcept;
/** @brief Whether callers' streams should report that they are being captured. */
bool capture_simulated() noexcept;
/** @brief Whether tests asked devices to do without memory pools (acts on a GPU too). */
bool pools_disabled_for_tests() noexcept;

}  // namespace limen::detail
