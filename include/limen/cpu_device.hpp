// SPDX-License-Identifier: Apache-2.0
/**
 * @file cpu_device.hpp
 * @brief The CPU device: what limen runs on where no GPU works, and the calls
 * that let an application's own CPU-only tests drive limen the way its
 * kernels would.
 *
 * Where no CUDA device works (no toolkit, no driver, no GPU), the pinned,
 * device and shared managers and the pinned buffer pool run the same backend
 * code as on a GPU, over a CPU model of the device:
 *
 * - **Streams** are FIFO queues. Under the *immediate* schedule (the default)
 *   limen's own copies run at once, in the calling thread, when nothing is
 *   queued ahead of them, and host tasks run on the stream's worker thread;
 *   under the *deferred* schedule every piece of work runs on the stream's
 *   worker after a seeded random delay, so it runs after the call that queued
 *   it returns, as on a GPU. A host read that forgot to
 *   wait then sees stale bytes, and ThreadSanitizer reports the race.
 * - **Events** complete when their stream reaches them; a stream can wait for
 *   another's event; stream, event and device synchronisation block. The
 *   legacy default stream (`StreamHandle{}`) serialises with blocking
 *   streams; non-blocking streams do not.
 * - **Device memory faults on host access**: it lives at addresses mapped
 *   with no access rights, and the device's work reaches it through a second,
 *   private mapping. Host code that dereferences a device pointer crashes, as
 *   on most GPUs. Pinned and managed memory are host memory.
 * - Capture status, sticky errors (after one, every call on that device fails
 *   with it), devices without memory pools, several devices and injected
 *   faults (`limen/fault_injection.hpp`) are modelled too.
 *
 * The environment chooses the model when the process first uses limen:
 * `LIMEN_CPU_DEVICE_SCHEDULE` (`immediate` or `deferred`),
 * `LIMEN_CPU_DEVICE_SEED` (the deferred delays; default 1),
 * `LIMEN_CPU_DEVICE_MAX_DELAY_US` (their bound; default 100),
 * `LIMEN_CPU_DEVICES` (1..16; default 1), `LIMEN_CPU_DEVICE_MEMORY_MB`
 * (per device; default 8192), `LIMEN_CPU_DEVICE_POOLS=0` (no memory pools)
 * and `LIMEN_CPU_DEVICE_CONCURRENT_MANAGED=0` (no concurrent managed access).
 * An invalid value is reported on stderr and the default used.
 *
 * Streams, events and synchronisation below work on whichever device limen
 * uses (on a GPU they are CUDA's own); host tasks and host aliases are the
 * CPU device's stand-ins for kernels. Every call is thread-safe.
 */
#pragma once

#include <limen/device_view.hpp>
#include <limen/error.hpp>
#include <limen/result.hpp>
#include <limen/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

struct CUevent_st;
struct CUgraphExec_st;

namespace limen::cpu_device {

/** @brief When queued work runs. */
enum class Schedule : std::uint8_t {
  Immediate,  ///< limen's copies at once, in the caller, when nothing is queued ahead (fast)
  Deferred,   ///< on the stream's worker after a seeded random delay (finds missing waits)
};

/** @brief How the CPU device behaves; see the file comment for the environment variables. */
struct Settings {
  Schedule schedule = Schedule::Immediate;  ///< when queued work runs
  std::uint64_t seed = 1;              ///< seeds the deferred schedule's delays
  std::uint32_t max_delay_us = 100;    ///< the longest deferred delay, in microseconds
  unsigned devices = 1;                ///< device ordinals 0..devices-1 exist
  std::size_t memory_bytes = std::size_t{8} << 30;  ///< device memory per device
  bool memory_pools = true;               ///< devices support stream-ordered memory pools
  bool concurrent_managed_access = true;  ///< host and device may touch managed memory at once
};

/** @brief What the CPU device has done (for tests and for limen-info). */
struct Stats {
  std::uint64_t work_queued = 0;        ///< work run by a stream's worker (not at once)
  std::uint64_t blocking_waits = 0;     ///< host waits that slept
  std::uint64_t spinning_waits = 0;     ///< host waits that would spin a core on a GPU
  std::uint64_t stale_handle_uses = 0;  ///< calls naming a stream or event already destroyed
};

/** @brief Whether limen runs on the CPU device in this process (no CUDA device works). */
[[nodiscard]] bool active();

/** @brief The CPU device's settings now (from the environment, then set_schedule()). */
[[nodiscard]] Settings settings();

/**
 * @brief Changes the schedule, its seed and its delay bound for work queued
 * from now on (work already queued keeps its place). Callable at any time.
 */
void set_schedule(Schedule schedule, std::uint64_t seed = 1, std::uint32_t max_delay_us = 100);

/** @brief What the CPU device has done so far. */
[[nodiscard]] Stats stats();

/**
 * @brief One line: the schedule, the seed and delay bound, and the environment
 * that reproduces them (test programs print it when a test fails).
 */
[[nodiscard]] std::string describe();

/**
 * @brief A new stream on @p device (0 by default): non-blocking unless
 * @p blocking, in which case it serialises with the legacy default stream.
 * Destroy it with destroy_stream(). DeviceError when the device refuses.
 */
[[nodiscard]] Result<StreamHandle> create_stream(unsigned device = 0, bool blocking = false);

/** @brief Destroys @p stream; work already queued on it still runs. */
Result<void> destroy_stream(StreamHandle stream);

/** @brief Blocks until the work queued on @p stream so far has run. */
Result<void> synchronize(StreamHandle stream);

/** @brief Blocks until the work queued on every stream of @p device so far has run. */
Result<void> synchronize_device(unsigned device = 0);

/**
 * @brief Makes @p device the calling thread's current device (`cudaSetDevice`
 * on the CPU device), as an application about to use several GPUs does;
 * limen's own calls run on their manager's device whatever the current one is.
 * DeviceError for a device the CPU device does not model.
 */
Result<void> set_current_device(unsigned device);

/** @brief The calling thread's current device (`cudaGetDevice`). */
[[nodiscard]] unsigned current_device();

/**
 * @brief Whether a sticky error (e.g. a faulting kernel) has made any CPU
 * device unusable. On a GPU the context's death stops every kernel; on the CPU
 * device, once the loss is reported to a caller, it waits for the host tasks
 * still running, so a host task that waits for something (a flag, a gate)
 * should give up when this turns true.
 */
[[nodiscard]] bool lost() noexcept;

/**
 * @brief Queues @p task on @p stream: the CPU device's stand-in for a kernel
 * launch. It runs in stream order (after the work queued before it, before
 * the work queued after it) on the stream's worker thread, never in the
 * caller, so it may wait for something the caller does next. Inside it,
 * reach device memory through host_alias(). Like a CUDA host function, it
 * must not call limen or queue work itself. It runs as a kernel of the
 * stream's device, whichever device is current.
 * Unsupported on a GPU (launch a kernel there); DeviceError, with the reason
 * in last_error(), for a stream the CPU device did not create.
 */
Result<void> launch_host_task(StreamHandle stream, std::function<void()> task);

/**
 * @brief The host address of the bytes behind @p device_pointer, for host
 * tasks to read and write device memory. Pinned, managed and host pointers
 * come back unchanged (as everything does on a GPU). Called in a host task on
 * a stream of device B for memory of device A, it models a kernel on B
 * touching A's memory: allowed when A's memory pool granted B access
 * (`ManagerConfig::peer_access`) or, for a plain allocation, when B enabled
 * peer access to A; otherwise device B faults (a sticky
 * `cudaErrorIllegalAddress` that its next call reports).
 */
[[nodiscard]] void* host_alias(const void* device_pointer) noexcept;

/** @brief host_alias() for a typed pointer. */
template <class T>
[[nodiscard]] T* host_alias(T* device_pointer) noexcept {
  return static_cast<T*>(host_alias(static_cast<const void*>(device_pointer)));
}

/** @brief A manager's device view as a host task addresses it. */
template <class P>
[[nodiscard]] DeviceSlotView<P> host_alias(DeviceSlotView<P> view) noexcept {
  return DeviceSlotView<P>(host_alias(view.base()), view.stride(), view.capacity());
}

/** @brief An event (a `cudaEvent_t`): a point in one stream's work. */
class EventHandle {
 public:
  /** @brief No event. */
  constexpr EventHandle() noexcept = default;
  /** @brief Names @p event (a `cudaEvent_t`). */
  constexpr explicit EventHandle(CUevent_st* event) noexcept : native_(event) {}
  /** @brief The event, as a `cudaEvent_t`. */
  [[nodiscard]] constexpr CUevent_st* native() const noexcept { return native_; }
  /** @brief Whether both name the same event. */
  friend constexpr bool operator==(EventHandle, EventHandle) noexcept = default;

 private:
  CUevent_st* native_ = nullptr;
};

/** @brief A new event on the current device; @p blocking: waits for it sleep. */
[[nodiscard]] Result<EventHandle> create_event(bool blocking = true);
/** @brief Destroys @p event. */
Result<void> destroy_event(EventHandle event);
/** @brief @p event marks the work queued on @p stream so far. */
Result<void> record_event(EventHandle event, StreamHandle stream);
/** @brief Work queued on @p stream from now on runs after @p event completes. */
Result<void> wait_event(StreamHandle stream, EventHandle event);
/** @brief Whether @p event has completed (true for one never recorded). */
[[nodiscard]] Result<bool> query_event(EventHandle event);
/** @brief Blocks until @p event completes. */
Result<void> synchronize_event(EventHandle event);

/** @brief How a capture treats other calls (cudaStreamCaptureMode). */
enum class CaptureMode : std::uint8_t {
  Global,       ///< "unsafe" calls (allocations, device-wide waits) from any thread break it
  ThreadLocal,  ///< only the capturing thread's unsafe calls break it
  Relaxed,      ///< nothing breaks it
};

/** @brief A captured graph, instantiated and ready to launch (a `cudaGraphExec_t`). */
class GraphHandle {
 public:
  /** @brief No graph. */
  constexpr GraphHandle() noexcept = default;
  /** @brief Names @p graph (a `cudaGraphExec_t`). */
  constexpr explicit GraphHandle(CUgraphExec_st* graph) noexcept : native_(graph) {}
  /** @brief The graph, as a `cudaGraphExec_t`. */
  [[nodiscard]] constexpr CUgraphExec_st* native() const noexcept { return native_; }

 private:
  CUgraphExec_st* native_ = nullptr;
};

/**
 * @brief Starts capturing @p stream: work queued on it is recorded into a
 * graph instead of running. While a capture in Global mode is in progress, an
 * "unsafe" call (an allocation, a device-wide wait) from any thread not in
 * relaxed mode fails and breaks it, as in CUDA; limen's own such calls are
 * made in relaxed mode.
 */
Result<void> begin_capture(StreamHandle stream, CaptureMode mode = CaptureMode::Global);
/** @brief Ends the capture of @p stream: the graph, instantiated; DeviceError if it was broken. */
[[nodiscard]] Result<GraphHandle> end_capture(StreamHandle stream);
/** @brief Queues the graph's work on @p stream (each launch replays it). */
Result<void> launch_graph(GraphHandle graph, StreamHandle stream);
/** @brief Destroys @p graph. */
Result<void> destroy_graph(GraphHandle graph);

/**
 * @brief The last failed call of this thread through the functions above, if
 * any. Like the CUDA runtime, a failed call also leaves its code as the
 * thread's pending error (below); limen's own calls never read or clear a
 * pending error of the caller's.
 */
[[nodiscard]] std::optional<DeviceErrorInfo> last_error();

/** @brief The calling thread's pending device error (`cudaPeekAtLastError`); 0 when none. */
[[nodiscard]] int peek_at_last_error();

/** @brief Returns and clears it (`cudaGetLastError`; a sticky error never clears). */
int get_last_error();

}  // namespace limen::cpu_device
