// SPDX-License-Identifier: Apache-2.0
// Internal to src/: how make_backend reaches each implementation, and the
// hooks the CPU fallback shares with fault injection.
#pragma once

#include <limen/detail/backend.hpp>
#include <limen/stream.hpp>

#include <cstdint>
#include <optional>

namespace limen::detail {

/** @brief The CPU fallback for @p spec: the class emulated on host memory. */
BackendOrError make_emulated_backend(const BackendSpec& spec);

#if LIMEN_HAVE_CUDA
/** @brief The GPU backend for @p spec, on the device it names (known to exist). */
BackendOrError make_cuda_backend(const BackendSpec& spec);
#endif

// --- The emulated event clock (src/backend/emulated.cpp) -----------------------
// An emulated event completes when the clock reaches its target; targets are 0
// (complete at once) unless fault injection holds events "in flight".

/** @brief While on, events recorded on caller streams stay incomplete until released. */
void emulated_clock_hold(bool hold) noexcept;
/** @brief Completes every event held so far and wakes waiting threads. */
void emulated_clock_release() noexcept;

// --- Fault injection as the fallback sees it (src/fault_injection.cpp) ---------

/** @brief The kinds of emulated CUDA call a fault can be injected into. */
enum class InjectedCall : std::uint8_t { Allocation, Copy, Synchronize, EventRecord, EventQuery };

/** @brief Consumes one injected fault for @p call: its CUDA error code, or nothing. */
std::optional<int> take_fault(InjectedCall call) noexcept;
/** @brief Whether leases should see emulated streams as being captured into a graph. */
bool capture_simulated() noexcept;
/** @brief Whether the caller said @p stream was destroyed (a borrowed stream must outlive us). */
bool stream_destroyed(StreamHandle stream) noexcept;
/** @brief Counts a use of a destroyed stream (tests read it back). */
void count_dangling_stream_use() noexcept;
/** @brief Whether tests asked the GPU device backend to do without memory pools. */
bool pools_disabled_for_tests() noexcept;

}  // namespace limen::detail
