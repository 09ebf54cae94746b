// SPDX-License-Identifier: Apache-2.0
// The CPU device's streams and events. A stream is a FIFO of work run one
// item at a time, either at once in the calling thread (the immediate
// schedule, for limen's own copies when nothing is queued ahead) or by the
// stream's worker thread (host tasks always; every piece of work, after a
// seeded random delay, under the deferred schedule), so that work queued on a
// stream runs after the call that queued it returns. An event is a point in
// one stream's sequence of work: it completes when the stream has run that
// far. Streams and events are named by handles that encode a table index and
// a generation, so a handle the CPU device did not make (or one destroyed)
// is recognised and refused, never dereferenced.
#pragma once

#include "api.hpp"
#include "cpu_settings.hpp"
#include "handle_table.hpp"

#include <limen/cpu_device.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace limen::detail::cpu {

using device::Status;

/**
 * @brief A lock of one atomic exchange: a stream's lock is taken twice per
 * copy on the immediate schedule's fast path, where a mutex's second
 * read-modify-write (its unlock) is a measurable share of the copy.
 */
class SpinMutex {
 public:
  void lock() noexcept {
    while (locked_.exchange(true, std::memory_order_acquire)) {
      while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  bool try_lock() noexcept { return !locked_.exchange(true, std::memory_order_acquire); }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

/** @brief One queued item of a stream. */
struct Work {
  enum class Kind : std::uint8_t {
    Run,   ///< run `task` (a copy, a batch kernel, a host task)
    Wait,  ///< wait until stream `wait_stream` has completed `wait_seq` (stream-wait-event)
  };
  Kind kind = Kind::Run;
  bool kernel = false;     ///< a host task or held work: stands for a kernel, may take long
  std::uint64_t seq = 0;   ///< its place in the stream's sequence
  std::uint64_t gate = 0;  ///< held until this release (fault_injection::hold_events); 0: never
  std::uint32_t wait_stream = 0;
  std::uint64_t wait_seq = 0;
  std::function<void()> task;
};

/**
 * @brief Short: limen's own work (a copy, a batch kernel), which the immediate
 * schedule may run inline under the stream's lock. User: a host task, which
 * stands for a kernel and so always runs on the stream's worker.
 */
enum class TaskKind : std::uint8_t { Short, User };

/** @brief A piece of captured work, replayed by each launch of its graph. */
struct CapturedTask {
  std::function<void()> task;
  TaskKind kind = TaskKind::Short;
};

/** @brief A capture in progress: the work a stream recorded instead of running it. */
struct Capture {
  device::CaptureMode mode = device::CaptureMode::Global;
  std::thread::id thread;
  int device = 0;
  bool invalidated =
      false;  ///< an unsafe call or a forbidden wait broke it (under its stream's lock)
  std::vector<CapturedTask> tasks;
};

/**
 * @brief One stream. Its index (and the counters) outlive the stream: a
 * destroyed stream's place is reused only once its work has drained, and the
 * counters carry on, so an event naming (index, seq) stays right forever.
 */
class StreamCore {
 public:
  std::uint32_t index = 0;
  int device = 0;
  bool non_blocking = true;  ///< false: serialises with the legacy default stream
  bool internal = false;     ///< limen's private copy stream (never held)
  bool legacy = false;       ///< the device's legacy default stream
  bool per_thread = false;   ///< a thread's per-thread default stream (never destroyed by callers)
  std::uint64_t rng = 0;     ///< the deferred schedule's delays

  std::atomic<std::uint64_t> submitted{0};  ///< seq of the last work queued
  std::atomic<std::uint64_t> completed{0};  ///< seq of the last work done
  /// Work up to here was queued on a lost device and never runs, even once revived.
  std::atomic<std::uint64_t> buried{0};

  SpinMutex mutex;  ///< guards everything below
  std::condition_variable_any wake;
  std::condition_variable_any idle;  ///< signalled when limen's work stops touching memory
  std::condition_variable_any done;  ///< signalled when work completes and someone waits
  int waiting = 0;               ///< threads waiting on `done`
  std::deque<Work> queue;
  std::shared_ptr<Capture> capture;  ///< set while the stream is being captured
  bool busy = false;      ///< work of this stream is running (inline or on the worker)
  bool touching = false;  ///< limen's own work (a copy, a batch) is touching memory now
  bool stopping = false;
  bool has_worker = false;
  std::atomic<bool> drained{true};  ///< destroyed and its worker gone: the place is free
};

/** @brief One event: the point in one stream it waits for. */
class EventCore {
 public:
  unsigned flags = 0;
  int device = 0;
  /// 0: complete (or never recorded); else (stream index + 1) << 40 | seq.
  std::atomic<std::uint64_t> mark{0};
};

// --- Handles ------------------------------------------------------------------------

inline constexpr std::uint16_t kStreamTag = 0xC0DE;
inline constexpr std::uint16_t kEventTag = 0xE7E7;
using StreamTable = HandleTable<StreamCore, kStreamTag>;
using EventTable = HandleTable<EventCore, kEventTag>;
extern constinit Immortal<StreamTable> stream_table;
extern constinit Immortal<EventTable> event_table;

/** @brief The legacy default stream of @p device (made on first use). */
[[nodiscard]] StreamCore& legacy_stream(int device);

/**
 * @brief The calling thread's per-thread default stream of @p device (made on
 * its first use; destroyed, its work left to drain, when the thread exits):
 * a blocking stream, as CUDA's is. Null if it cannot be made.
 */
[[nodiscard]] StreamCore* per_thread_stream(int device) noexcept;

/** @brief The device whose kernel (host task) this thread is running now, or -1. */
[[nodiscard]] int running_kernel_device() noexcept;

/// The runtime's spellings of the default streams (cudaStreamLegacy, cudaStreamPerThread).
inline constexpr std::uintptr_t kLegacyStream = 0x1;
inline constexpr std::uintptr_t kPerThreadStream = 0x2;

/**
 * @brief The stream @p handle names on @p device: null and cudaStreamLegacy
 * are its legacy default stream, cudaStreamPerThread the calling thread's.
 */
[[nodiscard]] inline StreamCore* resolve_stream(device::Stream handle, int device) noexcept {
  const auto bits = reinterpret_cast<std::uintptr_t>(handle);
  if (bits <= kPerThreadStream) {
    if (bits == kPerThreadStream) return per_thread_stream(device);
    return &legacy_stream(device);
  }
  return stream_table.value.resolve(bits);
}
[[nodiscard]] inline EventCore* resolve_event(device::Event handle) noexcept {
  return event_table.value.resolve(reinterpret_cast<std::uintptr_t>(handle));
}
/** @brief Whether @p handle has the form of a handle the CPU device made (a stale one too). */
[[nodiscard]] bool looks_like_stream(device::Stream handle) noexcept;

Status create_stream(device::Stream* out, int device, unsigned flags, bool internal);
Status destroy_stream(StreamCore& stream) noexcept;
Status create_event(device::Event* out, int device, unsigned flags);
Status destroy_event(device::Event handle) noexcept;

// --- Work -----------------------------------------------------------------------------

/** @brief Queues @p task on @p stream (runs it now if the schedule and the stream allow). */
Status submit(StreamCore& stream, std::function<void()> task, TaskKind kind);

/**
 * @brief Queues a short task of limen's own without allocating when it runs at
 * once: the common case of the immediate schedule.
 */
template <class F>
Status submit_short(StreamCore& stream, F&& task);

/** @brief Work on @p stream waits for @p event as recorded now (cudaStreamWaitEvent). */
Status wait_event(StreamCore& stream, const EventCore& event);
/** @brief @p event marks the work queued on @p stream so far. */
Status record_event(EventCore& event, StreamCore& stream);
/** @brief record_event() on a non-blocking stream with nothing held: no marker needed. */
inline void record_now(EventCore& event, const StreamCore& stream) noexcept {
  const std::uint64_t seq = stream.submitted.load(std::memory_order_acquire);
  const bool done = stream.completed.load(std::memory_order_acquire) >= seq;
  event.mark.store(done ? 0 : (std::uint64_t{stream.index} + 1) << 40 | seq,
                   std::memory_order_release);
}

/** @brief Whether @p event has completed. */
[[nodiscard]] bool event_done(const EventCore& event) noexcept;
/** @brief Blocks (or spins, for events without blocking sync) until @p event completes. */
void wait_for_event(const EventCore& event) noexcept;
/** @brief Blocks until the work queued on @p stream so far has run (a spinning wait in CUDA). */
void wait_for_stream(StreamCore& stream) noexcept;
/** @brief Blocks until every stream of @p device has run what was queued so far. */
void wait_for_device(int device) noexcept;

// --- Capture ------------------------------------------------------------------------------

/** @brief Starts capturing @p stream's work into a graph instead of running it. */
Status begin_capture(StreamCore& stream, device::CaptureMode mode);
/** @brief Ends the capture: its work, or capture_invalidated if something broke it. */
Status end_capture(StreamCore& stream, std::vector<CapturedTask>* tasks);
/** @brief Whether @p stream is being captured. */
[[nodiscard]] bool capturing(StreamCore& stream) noexcept;
/** @brief Whether a blocking stream of @p device is being captured (the legacy stream depends on
 * it). */
[[nodiscard]] bool blocking_stream_capturing(int device) noexcept;
/** @brief Invalidates the capture of @p stream, if any. */
void invalidate_capture(StreamCore& stream) noexcept;
/**
 * @brief Whether a "potentially unsafe" call (an allocation, a device-wide
 * wait) by a thread in capture mode @p mode is prohibited by a capture in
 * progress; if so the captures it would break are invalidated, as CUDA does.
 */
[[nodiscard]] bool unsafe_call_breaks_capture(device::CaptureMode mode) noexcept;

// --- A lost device ----------------------------------------------------------------------

/**
 * @brief Whether a sticky error killed @p device: its queued work never runs
 * (cpu_api.cpp keeps the state).
 */
[[nodiscard]] bool device_dead(int device) noexcept;

/**
 * @brief Waits until no limen work of @p device is running, so that once a
 * sticky error is reported none ever runs again (a kernel-like host task may
 * go on: a thread cannot be killed).
 */
void quiesce(int device) noexcept;

/** @brief Work queued so far on the streams of @p device never runs (before a test revives it). */
void bury(int device) noexcept;

// --- Holding work (fault_injection::hold_events) ----------------------------------------

void hold(bool on) noexcept;
void release_held() noexcept;

// --- Counters ----------------------------------------------------------------------------

/** @brief The counters cpu_device::stats() reports. */
[[nodiscard]] cpu_device::Stats stats() noexcept;
void count_stale_handle() noexcept;
void reset_stale_handles() noexcept;

// --- The legacy stream and the immediate fast path ------------------------------------

namespace engine {
[[nodiscard]] bool immediate() noexcept;
[[nodiscard]] std::uint64_t gate_for(const StreamCore& stream) noexcept;
[[nodiscard]] bool has_implicit_waits(const StreamCore& stream) noexcept;
void finish(StreamCore& stream, std::uint64_t seq) noexcept;
}  // namespace engine

/**
 * @brief The immediate schedule's fast path: runs @p task now, as @p stream's
 * next work, if nothing is queued or running there; false (nothing done) if
 * it must be queued. The caller has checked usual() and that the stream is
 * non-blocking (no implicit waits).
 */
template <class F>
bool run_now(StreamCore& stream, F&& task) {
  std::lock_guard lock(stream.mutex);
  if (!stream.queue.empty() || stream.busy) return false;
  const std::uint64_t seq = stream.submitted.load(std::memory_order_relaxed) + 1;
  stream.submitted.store(seq, std::memory_order_release);
  task();
  engine::finish(stream, seq);
  return true;
}

template <class F>
Status submit_short(StreamCore& stream, F&& task) {
  if (engine::immediate() && !engine::has_implicit_waits(stream) &&
      engine::gate_for(stream) == 0) {
    std::unique_lock lock(stream.mutex);
    if (stream.queue.empty() && !stream.busy && !stream.capture) {
      const std::uint64_t seq = stream.submitted.load(std::memory_order_relaxed) + 1;
      stream.submitted.store(seq, std::memory_order_release);
      if (!device_dead(stream.device)) task();  // under the lock: quiesce() waits for it
      // (inline work is never buried: nothing is queued ahead of it)
      engine::finish(stream, seq);
      return device::status::success;
    }
  }
  return submit(stream, std::function<void()>(std::forward<F>(task)), TaskKind::Short);
}

}  // namespace limen::detail::cpu
