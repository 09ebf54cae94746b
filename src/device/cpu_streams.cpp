// SPDX-License-Identifier: Apache-2.0
// The CPU device's streams and events (see cpu_streams.hpp).
#include "cpu_streams.hpp"

#include "handle_table.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <thread>
#include <vector>

namespace limen::detail::cpu {
namespace {

using device::status::invalid_resource_handle;
using device::status::success;

constexpr std::uint64_t kSeqBits = 40;
constexpr std::uint64_t kSeqMask = (std::uint64_t{1} << kSeqBits) - 1;

StreamTable& streams() { return stream_table.value; }
EventTable& events() { return event_table.value; }

/// Per device: its legacy default stream and the blocking streams it serialises with.
struct DeviceStreams {
  std::mutex mutex;
  std::atomic<std::uint32_t> legacy{0};
  std::atomic<bool> has_legacy{false};
  std::vector<std::uint32_t> blocking;
  std::atomic<unsigned> blocking_count{0};
};

std::array<DeviceStreams, kMaxDevices>& device_streams() {
  static auto* all = new std::array<DeviceStreams, kMaxDevices>;
  return *all;
}

struct Counters {
  std::atomic<std::uint64_t> queued{0};
  std::atomic<std::uint64_t> blocking_waits{0};
  std::atomic<std::uint64_t> spinning_waits{0};
  std::atomic<std::uint64_t> stale{0};
};
Counters counters;

std::atomic<std::uint64_t> streams_made{0};  // seeds each stream's delays

// --- Holding work (fault_injection::hold_events) -------------------------------------

std::atomic<bool> holding{false};
std::atomic<std::uint64_t> release_epoch{0};

/// Where held work ends on each stream that has some: release_held() waits for it.
struct HeldWork {
  std::mutex mutex;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> ends;  ///< (stream index, seq)
};
HeldWork& held_work() {
  static auto* held = new HeldWork;
  return *held;
}

void remember_held(const StreamCore& stream, std::uint64_t seq) {
  HeldWork& h = held_work();
  std::lock_guard lock(h.mutex);
  h.ends.emplace_back(stream.index, seq);
}

bool gate_open(std::uint64_t gate) noexcept {
  return gate == 0 || release_epoch.load(std::memory_order_acquire) >= gate;
}

void wait_gate(std::uint64_t gate) noexcept {
  for (std::uint64_t now = release_epoch.load(std::memory_order_acquire); now < gate;
       now = release_epoch.load(std::memory_order_acquire)) {
    release_epoch.wait(now, std::memory_order_acquire);
  }
}

// --- Waiting ------------------------------------------------------------------------

StreamCore& stream_at(std::uint32_t index) { return streams().at(index); }

/// Blocks until @p stream has completed @p seq (the stream's lock and `done`
/// signal: completing work notifies only when someone waits).
void block_until(StreamCore& stream, std::uint64_t seq) noexcept {
  std::unique_lock lock(stream.mutex);
  ++stream.waiting;
  stream.done.wait(lock, [&] { return stream.completed.load(std::memory_order_acquire) >= seq; });
  --stream.waiting;
}

/// Blocks until @p stream has completed @p seq; counts the wait as spinning or blocking.
void wait_completed(StreamCore& stream, std::uint64_t seq, bool spinning) noexcept {
  if (stream.completed.load(std::memory_order_acquire) >= seq) return;
  (spinning ? counters.spinning_waits : counters.blocking_waits)
      .fetch_add(1, std::memory_order_relaxed);
  block_until(stream, seq);
}

bool pending(const StreamCore& stream) noexcept {
  return stream.completed.load(std::memory_order_acquire) <
         stream.submitted.load(std::memory_order_acquire);
}

// --- The deferred schedule ------------------------------------------------------------

thread_local int kernel_device = -1;

std::uint64_t mix(std::uint64_t x) noexcept {  // splitmix64
  x += 0x9E37'79B9'7F4A'7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D0'49BB'1331'11EBULL;
  return x ^ (x >> 31);
}

/// The deferred schedule's pause before one piece of work: a function of the
/// seed, the stream (by creation order) and how much work it has run.
void delay(StreamCore& stream) {
  const std::uint32_t bound = max_delay_us();
  if (bound == 0) return;
  stream.rng = mix(stream.rng + seed());
  const std::uint64_t us = stream.rng % (std::uint64_t{bound} + 1);
  if (us < 10) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(us));
  }
}

// --- Workers ------------------------------------------------------------------------------

/// Whether @p work belongs to a lost device: it never runs.
bool dead(const StreamCore& stream, const Work& work) noexcept {
  return device_dead(stream.device) || work.seq <= stream.buried.load(std::memory_order_acquire);
}

void execute(StreamCore& stream, Work& work) {
  if (dead(stream, work)) return;  // a lost device runs nothing more
  wait_gate(work.gate);
  if (work.kind == Work::Kind::Wait) {
    wait_completed(stream_at(work.wait_stream), work.wait_seq, false);
    return;
  }
  if (deferred()) delay(stream);
  if (!work.task) return;
  {
    std::lock_guard lock(stream.mutex);
    if (dead(stream, work)) return;
    // quiesce() waits until it is over: once a device's loss is reported, none
    // of its work runs any more, a kernel (host task) included, as on a GPU,
    // where the context's death stops every kernel. Host tasks that wait for
    // something give up when their device is lost (cpu_device::lost()).
    stream.touching = true;
  }
  if (work.kernel) kernel_device = stream.device;  // what host_alias() checks pointers against
  work.task();
  kernel_device = -1;
  std::lock_guard lock(stream.mutex);
  stream.touching = false;
  stream.idle.notify_all();
}

/// The worker of one stream: runs its queue in order; exits once destroyed and drained.
void work_loop(StreamCore* stream) {
  std::unique_lock lock(stream->mutex);
  for (;;) {
    stream->wake.wait(lock, [stream] {
      return (!stream->queue.empty() && !stream->busy) ||
             (stream->stopping && stream->queue.empty() && !stream->busy);
    });
    if (stream->queue.empty()) break;  // destroyed, nothing left to run
    Work work = std::move(stream->queue.front());
    stream->queue.pop_front();
    stream->busy = true;
    lock.unlock();
    execute(*stream, work);
    work.task = nullptr;  // destroy the task's captures outside the lock, before completing
    lock.lock();
    stream->busy = false;
    counters.queued.fetch_add(1, std::memory_order_relaxed);  // before anyone can see it done
    engine::finish(*stream, work.seq);
  }
  stream->has_worker = false;
  stream->drained.store(true, std::memory_order_release);
}

/// Starts the stream's worker, or wakes it (the caller holds the stream's lock).
void start_or_wake(StreamCore& stream) {
  if (!stream.has_worker) {
    stream.has_worker = true;
    std::thread(work_loop, &stream).detach();  // its state lives in a table that is never freed
  } else {
    stream.wake.notify_one();
  }
}

/// Appends @p work (its seq not yet given) to @p stream's queue; the caller holds the lock.
std::uint64_t append(StreamCore& stream, Work work) {
  work.seq = stream.submitted.load(std::memory_order_relaxed) + 1;
  stream.submitted.store(work.seq, std::memory_order_release);
  const std::uint64_t seq = work.seq;
  if (work.gate != 0) remember_held(stream, seq);
  stream.queue.push_back(std::move(work));
  start_or_wake(stream);
  return seq;
}

void append_wait(StreamCore& stream, const StreamCore& other) {
  Work wait;
  wait.kind = Work::Kind::Wait;
  wait.wait_stream = other.index;
  wait.wait_seq = other.submitted.load(std::memory_order_acquire);
  append(stream, std::move(wait));
}

/// The legacy default stream's implicit waits for the work queued so far: on
/// the legacy stream, for every blocking stream of its device; on a blocking
/// stream, for the legacy stream. The caller holds @p stream's lock.
void append_implicit_waits(StreamCore& stream) {
  if (stream.non_blocking) return;
  DeviceStreams& d = device_streams()[static_cast<std::size_t>(stream.device)];
  std::lock_guard lock(d.mutex);
  if (stream.legacy) {
    for (std::uint32_t index : d.blocking) {
      const StreamCore& other = stream_at(index);
      if (pending(other)) append_wait(stream, other);
    }
  } else if (d.has_legacy && pending(stream_at(d.legacy))) {
    append_wait(stream, stream_at(d.legacy));
  }
}

/// Queues a no-op whose place other work can be ordered against (a held event's point).
std::uint64_t append_marker(StreamCore& stream) {
  std::unique_lock lock(stream.mutex);
  append_implicit_waits(stream);
  Work marker;
  marker.gate = engine::gate_for(stream);
  return append(stream, std::move(marker));
}

std::uint64_t encode(std::uint32_t stream, std::uint64_t seq) noexcept {
  return (std::uint64_t{stream} + 1) << kSeqBits | (seq & kSeqMask);
}

void init_stream(StreamCore& s, int device, unsigned flags, bool internal, bool legacy) {
  std::lock_guard lock(s.mutex);
  s.device = device;
  s.non_blocking = (flags & device::stream_non_blocking) != 0 && !legacy;
  s.internal = internal;
  s.legacy = legacy;
  s.rng = mix(streams_made.fetch_add(1) + 1);
  s.queue.clear();
  s.capture = nullptr;
  s.per_thread = false;
  s.busy = false;
  s.stopping = false;
  s.has_worker = false;
  s.drained.store(false, std::memory_order_relaxed);
}

void register_blocking(StreamCore& s) {
  if (s.non_blocking || s.legacy) return;
  (void)legacy_stream(s.device);  // exists before anything serialises with it
  DeviceStreams& d = device_streams()[static_cast<std::size_t>(s.device)];
  std::lock_guard lock(d.mutex);
  d.blocking.push_back(s.index);
  d.blocking_count.fetch_add(1, std::memory_order_release);
}

void unregister_blocking(StreamCore& s) {
  if (s.non_blocking || s.legacy) return;
  DeviceStreams& d = device_streams()[static_cast<std::size_t>(s.device)];
  std::lock_guard lock(d.mutex);
  std::erase(d.blocking, s.index);
  d.blocking_count.fetch_sub(1, std::memory_order_release);
}

}  // namespace

StreamCore& legacy_stream(int device) {
  DeviceStreams& d = device_streams()[static_cast<std::size_t>(device)];
  if (d.has_legacy.load(std::memory_order_acquire)) return stream_at(d.legacy.load());
  // Made once per device and never destroyed.
  const std::uint32_t index =
      streams().acquire([](const StreamCore& s) { return s.drained.load(); });
  StreamCore& s = stream_at(index);
  s.index = index;
  init_stream(s, device, 0, false, true);
  std::lock_guard lock(d.mutex);
  if (d.has_legacy) {  // another thread made it first: give ours back
    s.drained.store(true);
    streams().retire(index);
    return stream_at(d.legacy);
  }
  d.legacy.store(index, std::memory_order_release);
  d.has_legacy.store(true, std::memory_order_release);
  return s;
}

namespace {

/// A thread's per-thread default streams, one per device, destroyed when it exits.
class PerThreadStreams {
 public:
  PerThreadStreams() { made_.fill(nullptr); }
  ~PerThreadStreams() {
    for (StreamCore* s : made_) {
      if (s == nullptr) continue;
      {
        std::lock_guard lock(s->mutex);
        s->per_thread = false;  // the thread is gone: its default stream may go
      }
      (void)destroy_stream(*s);  // its queued work still runs
    }
  }
  PerThreadStreams(const PerThreadStreams&) = delete;
  PerThreadStreams& operator=(const PerThreadStreams&) = delete;

  StreamCore* of(int device) noexcept {
    StreamCore*& s = made_[static_cast<std::size_t>(device)];
    if (s == nullptr) {
      try {
        device::Stream handle = nullptr;
        if (create_stream(&handle, device, 0, false) == success) {
          s = stream_table.value.resolve(reinterpret_cast<std::uintptr_t>(handle));
          if (s != nullptr) {
            std::lock_guard lock(s->mutex);
            s->per_thread = true;
          }
        }
      } catch (...) {  // out of memory for its bookkeeping: no stream, an invalid handle
      }
    }
    return s;
  }

 private:
  std::array<StreamCore*, kMaxDevices> made_{};
};

}  // namespace

int running_kernel_device() noexcept {
  return kernel_device;
}

StreamCore* per_thread_stream(int device) noexcept {
  thread_local PerThreadStreams streams;
  return streams.of(device);
}

// --- Handles ------------------------------------------------------------------------------

constinit Immortal<StreamTable> stream_table;
constinit Immortal<EventTable> event_table;

bool looks_like_stream(device::Stream handle) noexcept {
  return HandleTable<StreamCore, kStreamTag>::tagged(reinterpret_cast<std::uintptr_t>(handle));
}

Status create_stream(device::Stream* out, int device, unsigned flags, bool internal) {
  const std::uint32_t index = streams().acquire(
      [](const StreamCore& s) { return s.drained.load(std::memory_order_acquire); });
  StreamCore& s = stream_at(index);
  s.index = index;
  init_stream(s, device, flags, internal, false);
  register_blocking(s);
  *out = reinterpret_cast<device::Stream>(streams().handle(index));
  return success;
}

/// A stream destroyed while it captures: its capture ends, invalidated (defined below).
void abandon_capture(StreamCore& stream) noexcept;

Status destroy_stream(StreamCore& s) noexcept {
  if (s.legacy || s.per_thread) return invalid_resource_handle;  // default streams live on
  abandon_capture(s);
  unregister_blocking(s);
  streams().retire(s.index);  // the handle is stale from now on
  std::lock_guard lock(s.mutex);
  s.stopping = true;
  if (s.has_worker) {
    s.wake.notify_one();  // it drains the queue, then marks the place free
  } else if (!s.busy) {
    s.drained.store(true, std::memory_order_release);
  }
  return success;
}

Status create_event(device::Event* out, int device, unsigned flags) {
  const std::uint32_t index = events().acquire([](const EventCore&) { return true; });
  EventCore& e = events().at(index);
  e.flags = flags;
  e.device = device;
  e.mark.store(0, std::memory_order_release);
  *out = reinterpret_cast<device::Event>(events().handle(index));
  return success;
}

Status destroy_event(device::Event handle) noexcept {
  const auto h = reinterpret_cast<std::uintptr_t>(handle);
  if (events().resolve(h) == nullptr) return invalid_resource_handle;
  events().retire(HandleTable<EventCore, kEventTag>::index_of(h));
  return success;
}

// --- Work -------------------------------------------------------------------------------------

Status submit(StreamCore& stream, std::function<void()> task, TaskKind kind) {
  std::unique_lock lock(stream.mutex);
  if (stream.capture) {  // captured: recorded for the graph's launches, not run now
    stream.capture->tasks.push_back({std::move(task), kind});
    return success;
  }
  append_implicit_waits(stream);
  const std::uint64_t gate = engine::gate_for(stream);
  // Only limen's own short work runs inline: a host task stands for a kernel,
  // and a kernel launch never runs (or blocks) in the caller.
  if (kind == TaskKind::Short && engine::immediate() && stream.queue.empty() && !stream.busy &&
      gate_open(gate)) {
    const std::uint64_t seq = stream.submitted.load(std::memory_order_relaxed) + 1;
    stream.submitted.store(seq, std::memory_order_release);
    if (!device_dead(stream.device)) task();  // under the lock: quiesce() waits for it
    engine::finish(stream, seq);
    return success;
  }
  Work work;
  work.gate = gate;
  work.kernel = kind == TaskKind::User;
  work.task = std::move(task);
  append(stream, std::move(work));
  return success;
}

Status wait_event(StreamCore& stream, const EventCore& event) {
  std::lock_guard lock(stream.mutex);
  // A graph cannot wait for an event recorded outside its capture, done or not:
  // CUDA's answer does not depend on timing, so neither does this one.
  if (stream.capture) {
    stream.capture->invalidated = true;
    return device::status::capture_isolation;
  }
  const std::uint64_t mark = event.mark.load(std::memory_order_acquire);
  if (mark == 0) return success;
  const auto other = static_cast<std::uint32_t>((mark >> kSeqBits) - 1);
  const std::uint64_t seq = mark & kSeqMask;
  if (stream_at(other).completed.load(std::memory_order_acquire) >= seq) return success;
  Work wait;
  wait.kind = Work::Kind::Wait;
  wait.wait_stream = other;
  wait.wait_seq = seq;
  append(stream, std::move(wait));
  return success;
}

Status record_event(EventCore& event, StreamCore& stream) {
  if (capturing(stream)) return success;  // a node of the graph: nothing happens now
  const bool needs_marker = engine::gate_for(stream) != 0 || engine::has_implicit_waits(stream);
  const std::uint64_t seq =
      needs_marker ? append_marker(stream) : stream.submitted.load(std::memory_order_acquire);
  const bool done = stream.completed.load(std::memory_order_acquire) >= seq;
  event.mark.store(done ? 0 : encode(stream.index, seq), std::memory_order_release);
  return success;
}

bool event_done(const EventCore& event) noexcept {
  const std::uint64_t mark = event.mark.load(std::memory_order_acquire);
  if (mark == 0) return true;
  const auto stream = static_cast<std::uint32_t>((mark >> kSeqBits) - 1);
  return stream_at(stream).completed.load(std::memory_order_acquire) >= (mark & kSeqMask);
}

void wait_for_event(const EventCore& event) noexcept {
  const std::uint64_t mark = event.mark.load(std::memory_order_acquire);
  if (mark == 0) return;
  const auto stream = static_cast<std::uint32_t>((mark >> kSeqBits) - 1);
  wait_completed(stream_at(stream), mark & kSeqMask,
                 (event.flags & device::event_blocking_sync) == 0);
}

void wait_for_stream(StreamCore& stream) noexcept {
  std::uint64_t seq = stream.submitted.load(std::memory_order_acquire);
  if (engine::has_implicit_waits(stream)) seq = append_marker(stream);
  wait_completed(stream, seq, /*spinning=*/true);  // cudaStreamSynchronize spins by default
}

void wait_for_device(int device) noexcept {
  // Every stream of the device, destroyed ones still draining included: as on a
  // GPU, work queued before a stream was destroyed is still the device's work.
  const std::uint32_t places = streams().size();
  for (std::uint32_t index = 0; index < places; ++index) {
    StreamCore& s = stream_at(index);
    if (s.drained.load(std::memory_order_acquire)) continue;
    bool mine = false;
    {
      std::lock_guard lock(s.mutex);
      mine = s.device == device;
    }
    if (mine) wait_completed(s, s.submitted.load(std::memory_order_acquire), /*spinning=*/true);
  }
}

// --- Capture ----------------------------------------------------------------------------------

namespace {

/// The captures in progress, for the checks that look at all of them.
struct Captures {
  std::mutex mutex;
  std::vector<std::pair<std::shared_ptr<Capture>, std::uint32_t>> active;  ///< (capture, stream)
};

Captures& captures() {
  static auto* c = new Captures;
  return *c;
}

}  // namespace

Status begin_capture(StreamCore& stream, device::CaptureMode mode) {
  if (stream.legacy) return device::status::capture_unsupported;  // never the legacy stream
  auto capture = std::make_shared<Capture>();
  capture->mode = mode;
  capture->thread = std::this_thread::get_id();
  capture->device = stream.device;
  {
    std::lock_guard lock(stream.mutex);
    if (stream.capture) return device::status::illegal_state;
    stream.capture = capture;
  }
  Captures& c = captures();
  std::lock_guard lock(c.mutex);
  c.active.emplace_back(std::move(capture), stream.index);
  set_unusual(kCapturing, true);
  return success;
}

Status end_capture(StreamCore& stream, std::vector<CapturedTask>* tasks) {
  std::shared_ptr<Capture> capture;
  {
    std::lock_guard lock(stream.mutex);
    capture = std::move(stream.capture);
    stream.capture = nullptr;
  }
  if (!capture) return device::status::illegal_state;
  {
    Captures& c = captures();
    std::lock_guard lock(c.mutex);
    std::erase_if(c.active, [&](const auto& entry) { return entry.first == capture; });
    set_unusual(kCapturing, !c.active.empty());
  }
  std::lock_guard lock(stream.mutex);  // `invalidated` is written under it
  if (capture->invalidated) return device::status::capture_invalidated;
  *tasks = std::move(capture->tasks);
  return success;
}

void abandon_capture(StreamCore& stream) noexcept {
  std::shared_ptr<Capture> capture;
  {
    std::lock_guard lock(stream.mutex);
    capture = std::move(stream.capture);
    stream.capture = nullptr;
  }
  if (!capture) return;
  Captures& c = captures();
  std::lock_guard lock(c.mutex);
  std::erase_if(c.active, [&](const auto& entry) { return entry.first == capture; });
  set_unusual(kCapturing, !c.active.empty());
}

bool capturing(StreamCore& stream) noexcept {
  std::lock_guard lock(stream.mutex);
  return stream.capture != nullptr;
}

bool blocking_stream_capturing(int device) noexcept {
  Captures& c = captures();
  std::lock_guard lock(c.mutex);
  for (const auto& [capture, index] : c.active) {
    if (capture->device == device && !stream_at(index).non_blocking) return true;
  }
  return false;
}

void invalidate_capture(StreamCore& stream) noexcept {
  std::lock_guard lock(stream.mutex);
  if (stream.capture) stream.capture->invalidated = true;
}

bool unsafe_call_breaks_capture(device::CaptureMode mode) noexcept {
  if (mode == device::CaptureMode::Relaxed) return false;
  const std::thread::id me = std::this_thread::get_id();
  std::vector<std::uint32_t> broken;
  {
    Captures& c = captures();
    std::lock_guard lock(c.mutex);
    for (const auto& [capture, index] : c.active) {
      const bool mine = capture->thread == me && capture->mode != device::CaptureMode::Relaxed;
      const bool global =
          mode == device::CaptureMode::Global && capture->mode == device::CaptureMode::Global;
      if (mine || global) broken.push_back(index);
    }
  }
  for (std::uint32_t index : broken) invalidate_capture(stream_at(index));
  return !broken.empty();
}

// --- A lost device -------------------------------------------------------------------------

/// Calls @p f(stream) under its lock for every stream of @p device that may
/// still run work: live ones, and destroyed ones still draining their queue.
template <class F>
void for_each_running(int device, F f) noexcept {
  const std::uint32_t n = streams().size();
  for (std::uint32_t index = 0; index < n; ++index) {
    StreamCore& s = stream_at(index);
    if (s.drained.load(std::memory_order_acquire)) continue;
    std::unique_lock lock(s.mutex);
    if (s.device == device) f(s, lock);
  }
}

void quiesce(int device) noexcept {
  // An inline copy runs under the stream's lock: taking it waits for that one.
  for_each_running(device, [](StreamCore& s, auto& lock) {
    s.idle.wait(lock, [&s] { return !s.touching; });
  });
}

void bury(int device) noexcept {
  for_each_running(device, [](StreamCore& s, auto&) {
    s.buried.store(s.submitted.load(), std::memory_order_release);
  });
}

// --- Holding work -------------------------------------------------------------------------

void hold(bool on) noexcept {
  holding.store(on, std::memory_order_release);
  set_unusual(kHolding, on);
}

void release_held() noexcept {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> ends;
  {
    HeldWork& h = held_work();
    std::lock_guard lock(h.mutex);
    ends.swap(h.ends);
    release_epoch.fetch_add(1, std::memory_order_acq_rel);
  }
  release_epoch.notify_all();
  // Like a kernel that has finished: once this returns, the held work is done,
  // and so is everything queued behind it on the same streams.
  for (const auto& [index, seq] : ends) {
    StreamCore& s = stream_at(index);
    block_until(s, std::max(seq, s.submitted.load(std::memory_order_acquire)));
  }
}

// --- Counters ----------------------------------------------------------------------------------

cpu_device::Stats stats() noexcept {
  cpu_device::Stats s;
  s.work_queued = counters.queued.load();
  s.blocking_waits = counters.blocking_waits.load();
  s.spinning_waits = counters.spinning_waits.load();
  s.stale_handle_uses = counters.stale.load();
  return s;
}

void count_stale_handle() noexcept {
  counters.stale.fetch_add(1, std::memory_order_relaxed);
}

void reset_stale_handles() noexcept {
  counters.stale.store(0);
}

namespace engine {

bool immediate() noexcept {
  return !deferred();
}

std::uint64_t gate_for(const StreamCore& stream) noexcept {
  if (stream.internal || !holding.load(std::memory_order_acquire)) return 0;
  return release_epoch.load(std::memory_order_acquire) + 1;
}

bool has_implicit_waits(const StreamCore& stream) noexcept {
  if (stream.non_blocking) return false;
  DeviceStreams& d = device_streams()[static_cast<std::size_t>(stream.device)];
  if (stream.legacy) return d.blocking_count.load(std::memory_order_acquire) != 0;
  return d.has_legacy && pending(stream_at(d.legacy));
}

void finish(StreamCore& stream, std::uint64_t seq) noexcept {
  // The caller holds the stream's lock, as every waiter does while it checks.
  stream.completed.store(seq, std::memory_order_release);
  if (stream.waiting != 0) stream.done.notify_all();
}

}  // namespace engine

}  // namespace limen::detail::cpu
