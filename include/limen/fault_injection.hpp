// SPDX-License-Identifier: Apache-2.0
/**
 * @file fault_injection.hpp
 * @brief Test hooks into the CPU device (limen/cpu_device.hpp): injected CUDA
 * failures at the call that fails, device work held "in flight", simulated
 * graph capture and destroyed streams.
 *
 * They let CPU-only CI drive the error and ordering paths that on a GPU only a
 * failing device, a slow kernel or a careless caller would reach. They act on
 * the CPU device only (except disable_memory_pools) and are process-wide:
 * tests that use them must not run concurrently with each other. Only built
 * when limen is configured with `LIMEN_FAULT_INJECTION=ON` (the default when
 * its tests are built), so a library built for release carries none of them.
 */
#pragma once

#include <limen/config.hpp>
#include <limen/stream.hpp>

#include <cstdint>

#if !LIMEN_FAULT_INJECTION
#error "limen was built without fault injection: configure it with -DLIMEN_FAULT_INJECTION=ON"
#endif

namespace limen::fault_injection {

/** @brief The kinds of CPU-device call a fault can be injected into. */
enum class FaultKind : std::uint8_t {
  Allocation,   ///< cudaHostAlloc, cudaMalloc, cudaMemPoolCreate, cudaMallocFromPoolAsync,
                ///< cudaMallocManaged
  Copy,         ///< cudaMemcpyAsync and cudaMemPrefetchAsync
  Synchronize,  ///< cudaStreamSynchronize and cudaEventSynchronize
  EventRecord,  ///< cudaEventRecord
  EventQuery,   ///< cudaEventQuery
  Context,      ///< cudaSetDevice, as when the device cannot create a context (e.g. 46,
                ///< cudaErrorDevicesUnavailable: another process holds it in exclusive mode)
  DeviceCount,  ///< cudaGetDeviceCount, as without a usable driver (e.g. 35 or 100)
};

/// cudaErrorUnknown: what an injected fault reports unless told otherwise (not sticky).
inline constexpr int default_fault_code = 999;

/**
 * @brief Makes the next @p count CPU-device calls of @p kind fail with CUDA
 * error @p cuda_code, left as the calling thread's last error as the runtime
 * does. A sticky code (e.g. 700, cudaErrorIllegalAddress) makes every later
 * call on that device fail with it, as a faulting kernel does on a GPU: every
 * manager on the device meets it and marks itself "device lost". A code of 0
 * (success) is no fault: it injects default_fault_code instead.
 */
void inject_faults(FaultKind kind, unsigned count, int cuda_code = default_fault_code) noexcept;

/** @brief Injected faults of @p kind not yet consumed. */
[[nodiscard]] unsigned pending_faults(FaultKind kind) noexcept;

/** @brief Cancels every pending injected fault. */
void clear_faults() noexcept;

/**
 * @brief While on, work queued on callers' streams (and the events recorded
 * there, such as lease ends) waits, like a kernel still running, until
 * release_events(). limen's private copy streams are never held.
 */
void hold_events(bool hold) noexcept;

/** @brief Lets every piece of held work run; waiting threads wake. */
void release_events() noexcept;

/** @brief While on, every caller stream reports that it is being captured into a CUDA graph. */
void simulate_capture(bool capturing) noexcept;

/**
 * @brief While on, GPU device managers built afterwards allocate with one
 * cudaMalloc instead of a memory pool, as on a device without pool support
 * (the one hook that acts on a real GPU).
 */
void disable_memory_pools(bool disabled) noexcept;

/**
 * @brief Destroys @p stream, a stream of the CPU device: any later use of it
 * (by limen or anyone) is refused and counted by dangling_stream_uses() (a
 * borrowed stream must outlive its manager, but limen must never touch one
 * in teardown).
 */
void destroy_stream(StreamHandle stream) noexcept;

/** @brief How many calls named a CPU-device stream or event after it was destroyed. */
[[nodiscard]] std::uint64_t dangling_stream_uses() noexcept;

/**
 * @brief Everything above back to normal: no faults, no held work, no
 * capture, pools on, the counter at zero; and every CPU device a sticky error
 * lost is usable again (a test-only power: a real context stays lost), with
 * `runtime_info().device_lost()` cleared.
 */
void reset() noexcept;

}  // namespace limen::fault_injection
