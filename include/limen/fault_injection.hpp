/**
 * @file fault_injection.hpp
 * @brief Test-only hooks into the CPU fallback: fault injection and held events.
 *
 * They let CPU-only CI drive the error and ordering paths that on a GPU only
 * a failing device or a slow kernel would reach. They affect emulated
 * (fallback) managers only and are process-wide; tests that use them must not
 * run concurrently with each other.
 */
#pragma once

#include <cstdint>

namespace limen::fault_injection {

/** @brief The kinds of emulated CUDA call a fault can be injected into. */
enum class FaultKind : std::uint8_t {
  Allocation,   ///< cudaHostAlloc, cudaMemPoolCreate, cudaMallocFromPoolAsync, cudaMallocManaged
  Copy,         ///< cudaMemcpyAsync and cudaMemPrefetchAsync
  Synchronize,  ///< cudaStreamSynchronize and cudaEventSynchronize
  EventRecord,  ///< cudaEventRecord
  EventQuery,   ///< cudaEventQuery
};

/** @brief Makes the next @p count emulated calls of @p kind fail with a DeviceError. */
void inject_faults(FaultKind kind, unsigned count) noexcept;

/** @brief Cancels every pending injected fault. */
void clear_faults() noexcept;

/**
 * @brief While on, events recorded on emulated streams stay incomplete (like a
 * kernel still running) until release_events() is called.
 */
void hold_events(bool hold) noexcept;

/** @brief Completes every event held so far; waiting threads wake. */
void release_events() noexcept;

}  // namespace limen::fault_injection
