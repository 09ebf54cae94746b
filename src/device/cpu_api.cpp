// SPDX-License-Identifier: Apache-2.0
// The device seam on the CPU device: streams and events from cpu_streams,
// memory from cpu_memory, and what every call shares: handle validation, the
// calling thread's current device and last error, sticky errors (once one
// happens on a device, every later call on it fails with it), injected faults
// and the modelled device properties.
#include "cpu_api.hpp"

#include "cpu_memory.hpp"
#include "cpu_settings.hpp"
#include "cpu_streams.hpp"
#include "device_errors.hpp"
#include "fault_hooks.hpp"

#include <array>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace limen::detail::cpu {
namespace {

namespace st = device::status;
using device::CaptureMode;
using device::CaptureStatus;
using device::CopyKind;
using device::Event;
using device::Pool;
using device::Stream;

thread_local int current_device = 0;
thread_local Status last_error = st::success;
thread_local CaptureMode capture_mode = CaptureMode::Global;

struct DeviceState {
  std::atomic<Status> sticky{st::success};
  std::atomic<std::uint32_t> peers{0};  ///< bit p: peer access to device p enabled
};

std::array<DeviceState, kMaxDevices>& device_states() {
  static auto* all = new std::array<DeviceState, kMaxDevices>;
  return *all;
}

bool valid_device(int device) noexcept {
  return device >= 0 && device < static_cast<int>(machine().devices);
}

/// Records a failure the way the runtime does: the thread's last error, and a
/// sticky one for the device for good. Returns @p code.
Status fail(Status code, int device) noexcept {
  if (is_sticky_cuda_error(code) && valid_device(device)) {
    Status expected = st::success;
    device_states()[static_cast<std::size_t>(device)].sticky.compare_exchange_strong(expected,
                                                                                      code);
    set_unusual(kSticky, true);
    // As on a GPU, once the caller hears of it nothing of that device runs any more.
    quiesce(device);
  }
  last_error = code;
  return code;
}

/// The sticky error of @p device, if any (every call on it fails with it).
Status sticky(int device) noexcept {
  if (!valid_device(device)) return st::success;
  return device_states()[static_cast<std::size_t>(device)].sticky.load(std::memory_order_acquire);
}

/// A device call's common start: the device's sticky error, or an injected fault of @p kind.
Status begin(int device, std::optional<InjectedCall> kind = std::nullopt) noexcept {
  if (const Status s = sticky(device); s != st::success) return fail(s, device);
  if (kind) {
    if (const int code = take_fault(*kind); code != 0) return fail(code, device);
  }
  return st::success;
}

/// A stream the caller named, or null after recording invalid_resource_handle.
StreamCore* stream_or_fail(Stream handle, Status* status) noexcept {
  StreamCore* s = resolve_stream(handle, current_device);
  if (s == nullptr) {
    if (looks_like_stream(handle)) count_stale_handle();
    *status = fail(st::invalid_resource_handle, current_device);
  }
  return s;
}

EventCore* event_or_fail(Event handle, Status* status) noexcept {
  EventCore* e = resolve_event(handle);
  if (e == nullptr) *status = fail(st::invalid_resource_handle, current_device);
  return e;
}

/// A captured graph (and an instantiated one): the work each launch replays.
struct GraphCore {
  std::vector<CapturedTask> tasks;
};

/// The graphs alive: handles are their addresses, checked before use.
class Graphs {
 public:
  GraphCore* add(std::unique_ptr<GraphCore> graph) {
    std::lock_guard lock(mutex_);
    GraphCore* raw = graph.get();
    live_.emplace(raw, std::move(graph));
    return raw;
  }
  template <class Handle>
  const GraphCore* find(Handle handle) {
    std::lock_guard lock(mutex_);
    const auto it = live_.find(reinterpret_cast<GraphCore*>(handle));
    return it != live_.end() ? it->second.get() : nullptr;
  }
  template <class Handle>
  bool remove(Handle handle) {
    std::lock_guard lock(mutex_);
    return live_.erase(reinterpret_cast<GraphCore*>(handle)) != 0;
  }

 private:
  std::mutex mutex_;
  std::map<GraphCore*, std::unique_ptr<GraphCore>> live_;
};

Graphs& graphs() {
  static auto* g = new Graphs;
  return *g;
}

/// A "potentially unsafe" call under a capture that prohibits it: it fails and
/// breaks the capture, as CUDA does (the calling thread's mode decides).
Status unsafe_call(int device) noexcept {
  if (unsafe_call_breaks_capture(capture_mode)) return fail(st::capture_unsupported, device);
  return st::success;
}

/// A memory pool: which device it serves. Handles are the state's address.
struct PoolState {
  int device = 0;
  PoolAccess access = std::make_shared<std::atomic<std::uint32_t>>(0U);  ///< other devices' grants
};

struct Pools {
  std::mutex mutex;
  std::set<const PoolState*> live;
};

Pools& pools() {
  static auto* p = new Pools;
  return *p;
}

const PoolState* pool_or_null(Pool handle) noexcept {
  const auto* state = reinterpret_cast<const PoolState*>(handle);
  std::lock_guard lock(pools().mutex);
  return pools().live.count(state) != 0 ? state : nullptr;
}

struct ErrorText {
  Status code;
  const char* name;
  const char* text;
};

constexpr ErrorText kErrors[] = {
    {0, "cudaSuccess", "no error"},
    {1, "cudaErrorInvalidValue", "invalid argument"},
    {2, "cudaErrorMemoryAllocation", "out of memory"},
    {35, "cudaErrorInsufficientDriver",
     "CUDA driver version is insufficient for CUDA runtime version"},
    {46, "cudaErrorDevicesUnavailable", "CUDA-capable device(s) is/are busy or unavailable"},
    {100, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {101, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {214, "cudaErrorECCUncorrectable", "uncorrectable ECC error encountered"},
    {400, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {600, "cudaErrorNotReady", "device not ready"},
    {700, "cudaErrorIllegalAddress", "an illegal memory access was encountered"},
    {704, "cudaErrorPeerAccessAlreadyEnabled", "peer access is already enabled"},
    {710, "cudaErrorAssert", "device-side assert triggered"},
    {719, "cudaErrorLaunchFailure", "unspecified launch failure"},
    {801, "cudaErrorNotSupported", "operation not supported"},
    {401, "cudaErrorIllegalState", "the operation cannot be performed in the present state"},
    {900, "cudaErrorStreamCaptureUnsupported", "operation not permitted when stream is capturing"},
    {901, "cudaErrorStreamCaptureInvalidated",
     "operation failed due to a previous error during capture"},
    {905, "cudaErrorStreamCaptureIsolation",
     "the operation would have merged two independent capture sequences"},
    {906, "cudaErrorStreamCaptureImplicit",
     "operation would make the legacy stream depend on a capturing blocking stream"},
    {999, "cudaErrorUnknown", "unknown error"},
};

const ErrorText* find_error(Status code) noexcept {
  for (const ErrorText& e : kErrors) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

class CpuApi final : public device::Api {
 public:
  bool is_cpu() const noexcept override { return true; }

  // --- Versions and devices ------------------------------------------------------------

  Status runtime_version(int* v) override {
    *v = 0;
    return st::success;
  }
  Status driver_version(int* v) override {
    *v = 0;
    return st::success;
  }
  Status device_count(int* n) override {
    if (const int code = take_fault(InjectedCall::DeviceCount); code != 0) {
      *n = 0;
      return fail(code, current_device);
    }
    *n = static_cast<int>(machine().devices);
    return st::success;
  }
  Status device_properties(device::Properties* out, int d) override {
    if (!valid_device(d)) return fail(st::invalid_device, current_device);
    *out = device::Properties{"limen CPU device " + std::to_string(d), 0, 0,
                              machine().memory_bytes, true, machine().concurrent_managed_access};
    return st::success;
  }
  Status memory_pools_supported(bool* out, int d) override {
    if (!valid_device(d)) return fail(st::invalid_device, current_device);
    *out = machine().memory_pools && !pools_disabled_for_tests();
    return st::success;
  }
  Status get_device(int* d) override {
    *d = current_device;
    return st::success;
  }
  Status set_device(int d) override {
    if (!valid_device(d)) return fail(st::invalid_device, current_device);
    if (const int code = take_fault(InjectedCall::Context); code != 0) return fail(code, d);
    current_device = d;
    return st::success;
  }
  Status can_access_peer(bool* out, int d, int peer) override {
    if (!valid_device(d) || !valid_device(peer)) return fail(st::invalid_device, current_device);
    *out = d != peer;
    return st::success;
  }
  Status enable_peer_access(int peer) override {
    if (const Status s = begin(current_device); s != st::success) return s;
    if (!valid_device(peer) || peer == current_device) return fail(st::invalid_device, peer);
    const std::uint32_t bit = 1U << peer;
    auto& peers = device_states()[static_cast<std::size_t>(current_device)].peers;
    if ((peers.fetch_or(bit) & bit) != 0) {
      return fail(st::peer_access_already_enabled, current_device);
    }
    return st::success;
  }

  Status device_synchronize() override {
    if (const Status u = unsafe_call(current_device); u != st::success) return u;
    if (const Status s = begin(current_device, InjectedCall::Synchronize); s != st::success) {
      return s;
    }
    wait_for_device(current_device);
    return sticky_after_wait(current_device);
  }

  // --- Streams -------------------------------------------------------------------------

  Status stream_create(Stream* out, unsigned flags) override {
    if (const Status s = begin(current_device); s != st::success) return s;
    return create_stream(out, current_device, flags, /*internal=*/false);
  }
  Status stream_create_private(Stream* out, unsigned flags) override {
    if (const Status s = begin(current_device); s != st::success) return s;
    return create_stream(out, current_device, flags, /*internal=*/true);
  }
  Status stream_destroy(Stream handle) override {
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    if (destroy_stream(*s) != st::success) return fail(st::invalid_resource_handle, s->device);
    return st::success;
  }
  Status stream_synchronize(Stream handle) override {
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    if (capturing(*s)) {  // waiting for a stream that records instead of running
      invalidate_capture(*s);
      return fail(st::capture_unsupported, s->device);
    }
    if (const Status b = begin(s->device, InjectedCall::Synchronize); b != st::success) return b;
    wait_for_stream(*s);
    return sticky_after_wait(s->device);
  }
  Status stream_wait_event(Stream handle, Event event) override {
    if (usual()) {  // an event already complete orders nothing
      if (EventCore* e = resolve_event(event); e != nullptr && event_done(*e) &&
                                                resolve_stream(handle, current_device) != nullptr) {
        return st::success;
      }
    }
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    EventCore* e = s != nullptr ? event_or_fail(event, &status) : nullptr;
    if (e == nullptr) return status;
    if (const Status b = begin(s->device); b != st::success) return b;
    return wait_event(*s, *e);
  }
  Status stream_is_capturing(Stream handle, CaptureStatus* out) override {
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    if (const Status b = begin(s->device); b != st::success) return b;
    // The legacy stream waits for every blocking stream: one being captured
    // would pull it into the capture, which CUDA refuses to answer about.
    if (s->legacy && blocking_stream_capturing(s->device)) {
      return fail(st::capture_implicit, s->device);
    }
    const bool simulated = capture_simulated() && !s->internal;
    *out = simulated || capturing(*s) ? CaptureStatus::Active : CaptureStatus::None;
    return st::success;
  }
  Status exchange_capture_mode(CaptureMode* mode) override {
    std::swap(*mode, capture_mode);
    return st::success;
  }

  // --- Graphs ----------------------------------------------------------------------------

  Status stream_begin_capture(Stream handle, CaptureMode mode) override {
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    if (const Status b = begin(s->device); b != st::success) return b;
    if (const Status c = begin_capture(*s, mode); c != st::success) return fail(c, s->device);
    return st::success;
  }
  Status stream_end_capture(Stream handle, device::Graph* graph) override {
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    auto made = std::make_unique<GraphCore>();
    if (const Status c = end_capture(*s, &made->tasks); c != st::success) {
      return fail(c, s->device);
    }
    *graph = reinterpret_cast<device::Graph>(graphs().add(std::move(made)));
    return st::success;
  }
  Status graph_instantiate(device::GraphExec* exec, device::Graph graph) override {
    const GraphCore* g = graphs().find(graph);
    if (g == nullptr) return fail(st::invalid_value, current_device);
    *exec = reinterpret_cast<device::GraphExec>(graphs().add(std::make_unique<GraphCore>(*g)));
    return st::success;
  }
  Status graph_launch(device::GraphExec exec, Stream handle) override {
    const GraphCore* g = graphs().find(exec);
    if (g == nullptr) return fail(st::invalid_resource_handle, current_device);
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    if (const Status b = begin(s->device); b != st::success) return b;
    for (const CapturedTask& t : g->tasks) (void)submit(*s, t.task, t.kind);
    return st::success;
  }
  Status graph_destroy(device::Graph graph) override {
    return graphs().remove(graph) ? st::success : fail(st::invalid_value, current_device);
  }
  Status graph_exec_destroy(device::GraphExec exec) override {
    return graphs().remove(exec) ? st::success : fail(st::invalid_value, current_device);
  }

  // --- Events ----------------------------------------------------------------------------

  Status event_create(Event* out, unsigned flags) override {
    if (const Status s = begin(current_device); s != st::success) return s;
    return create_event(out, current_device, flags);
  }
  Status event_destroy(Event event) override {
    if (destroy_event(event) != st::success) return fail(st::invalid_resource_handle, current_device);
    return st::success;
  }
  Status event_record(Event event, Stream handle) override {
    if (usual() && handle != nullptr) {  // the fast path: nothing to hold, nothing unusual
      EventCore* e = resolve_event(event);
      StreamCore* s = e != nullptr ? resolve_stream(handle, current_device) : nullptr;
      if (s != nullptr && s->non_blocking && e->device == s->device) {
        record_now(*e, *s);
        return st::success;
      }
    }
    Status status = st::success;
    EventCore* e = event_or_fail(event, &status);
    StreamCore* s = e != nullptr ? stream_or_fail(handle, &status) : nullptr;
    if (s == nullptr) return status;
    if (const Status b = begin(s->device, InjectedCall::EventRecord); b != st::success) return b;
    if (e->device != s->device) return fail(st::invalid_resource_handle, s->device);
    return record_event(*e, *s);
  }
  Status event_record_external(Event event, Stream handle) override {
    return event_record(event, handle);
  }
  Status event_query(Event event) override {
    if (usual()) {
      if (EventCore* e = resolve_event(event)) return event_done(*e) ? st::success : st::not_ready;
    }
    Status status = st::success;
    EventCore* e = event_or_fail(event, &status);
    if (e == nullptr) return status;
    if (const Status b = begin(e->device, InjectedCall::EventQuery); b != st::success) return b;
    return event_done(*e) ? st::success : st::not_ready;  // not_ready is no error: not recorded
  }
  Status event_synchronize(Event event) override {
    if (usual()) {
      if (EventCore* e = resolve_event(event); e != nullptr && event_done(*e)) return st::success;
    }
    Status status = st::success;
    EventCore* e = event_or_fail(event, &status);
    if (e == nullptr) return status;
    if (const Status b = begin(e->device, InjectedCall::Synchronize); b != st::success) return b;
    wait_for_event(*e);
    return sticky_after_wait(e->device);
  }

  // --- Memory pools ------------------------------------------------------------------------

  Status pool_create(Pool* out, int d) override {
    if (!valid_device(d)) return fail(st::invalid_device, current_device);
    if (const Status u = unsafe_call(d); u != st::success) return u;
    if (const Status s = begin(d, InjectedCall::Allocation); s != st::success) return s;
    auto* state = new PoolState{d, std::make_shared<std::atomic<std::uint32_t>>(0U)};
    std::lock_guard lock(pools().mutex);
    pools().live.insert(state);
    *out = reinterpret_cast<Pool>(state);
    return st::success;
  }
  Status pool_destroy(Pool pool) override {
    const PoolState* state = pool_or_null(pool);
    if (state == nullptr) return fail(st::invalid_value, current_device);
    {
      std::lock_guard lock(pools().mutex);
      pools().live.erase(state);
    }
    delete state;
    return st::success;
  }
  Status pool_keep_all(Pool pool) override {
    if (pool_or_null(pool) == nullptr) return fail(st::invalid_value, current_device);
    return st::success;
  }
  Status pool_set_access(Pool pool, int peer) override {
    const PoolState* state = pool_or_null(pool);
    if (state == nullptr || !valid_device(peer)) return fail(st::invalid_value, current_device);
    if (peer != state->device) state->access->fetch_or(1U << peer);
    return st::success;
  }
  Status malloc_from_pool_async(void** out, std::size_t bytes, Pool pool, Stream handle) override {
    const PoolState* state = pool_or_null(pool);
    if (state == nullptr) return fail(st::invalid_value, current_device);
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    if (const Status b = begin(state->device, InjectedCall::Allocation); b != st::success) {
      return b;
    }
    if (const Status a = device_allocate(state->device, bytes, out, state->access);
        a != st::success) {
      return fail(a, state->device);
    }
    return st::success;
  }
  Status free_async(void* ptr, Stream handle) override {
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    if (const Status b = begin(s->device); b != st::success) return b;
    if (device_of(ptr) < 0) return fail(st::invalid_value, s->device);
    return submit_short(*s, [ptr] { (void)device_deallocate(ptr); });
  }

  // --- Memory ------------------------------------------------------------------------------

  Status malloc(void** out, std::size_t bytes) override {
    if (const Status u = unsafe_call(current_device); u != st::success) return u;
    if (const Status s = begin(current_device, InjectedCall::Allocation); s != st::success) {
      return s;
    }
    if (const Status a = device_allocate(current_device, bytes, out); a != st::success) {
      return fail(a, current_device);
    }
    return st::success;
  }
  Status free(void* ptr) override {
    if (ptr == nullptr) return st::success;
    if (const Status u = unsafe_call(current_device); u != st::success) return u;
    if (const Status s = begin(current_device); s != st::success) return s;
    if (device_of(ptr) >= 0) {
      wait_for_device(device_of(ptr));  // cudaFree synchronizes
      if (device_deallocate(ptr) == st::success) return st::success;
    } else if (host_deallocate(HostKind::Managed, ptr) == st::success) {
      return st::success;
    }
    return fail(st::invalid_value, current_device);
  }
  Status host_alloc(void** out, std::size_t bytes, unsigned) override {
    if (const Status u = unsafe_call(current_device); u != st::success) return u;
    if (const Status s = begin(current_device, InjectedCall::Allocation); s != st::success) {
      return s;
    }
    if (const Status a = host_allocate(HostKind::Pinned, bytes, out); a != st::success) {
      return fail(a, current_device);
    }
    return st::success;
  }
  Status free_host(void* ptr) override {
    if (ptr == nullptr) return st::success;
    if (const Status u = unsafe_call(current_device); u != st::success) return u;
    if (host_deallocate(HostKind::Pinned, ptr) != st::success) {
      return fail(st::invalid_value, current_device);
    }
    return st::success;
  }
  Status host_get_device_pointer(void** device_ptr, void* host) override {
    if (!host_owns(HostKind::Pinned, host)) return fail(st::invalid_value, current_device);
    *device_ptr = host;  // unified addressing: the same address on both sides
    return st::success;
  }
  Status malloc_managed(void** out, std::size_t bytes) override {
    if (const Status u = unsafe_call(current_device); u != st::success) return u;
    if (const Status s = begin(current_device, InjectedCall::Allocation); s != st::success) {
      return s;
    }
    if (const Status a = host_allocate(HostKind::Managed, bytes, out); a != st::success) {
      return fail(a, current_device);
    }
    return st::success;
  }
  Status prefetch_to_host_async(const void* ptr, std::size_t, Stream handle) override {
    return prefetch(ptr, handle);
  }
  Status prefetch_to_device_async(const void* ptr, std::size_t, int d, Stream handle) override {
    if (!valid_device(d)) return fail(st::invalid_device, current_device);
    return prefetch(ptr, handle);
  }
  Status memcpy_async(void* dst, const void* src, std::size_t bytes, CopyKind,
                      Stream handle) override {
    if (usual() && handle != nullptr) {  // the fast path: a copy on an idle non-blocking stream
      StreamCore* s = resolve_stream(handle, current_device);
      if (s != nullptr && s->non_blocking) {
        void* to = host_view(dst);
        const void* from = host_view(src);
        if (run_now(*s, [to, from, bytes] { std::memcpy(to, from, bytes); })) return st::success;
      }
    }
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    if (const Status b = begin(s->device, InjectedCall::Copy); b != st::success) return b;
    void* to = host_view(dst);
    const void* from = host_view(src);
    return submit_short(*s, [to, from, bytes] { std::memcpy(to, from, bytes); });
  }
  Status memset_async(void* ptr, int value, std::size_t bytes, Stream handle) override {
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    if (const Status b = begin(s->device); b != st::success) return b;
    void* to = host_view(ptr);
    return submit_short(*s, [to, value, bytes] { std::memset(to, value, bytes); });
  }

  // --- Batch kernels ----------------------------------------------------------------------

  bool has_batch_kernels() const noexcept override { return true; }
  Status batch_copy(bool to_slots, std::byte* packed, const std::uint32_t* indices,
                    std::size_t count, const batch::SlotPayloads& slots, Stream handle) override {
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    if (const Status b = begin(s->device); b != st::success) return b;
    // A kernel launch fails on a stream of another device than the current one.
    if (s->device != current_device) return fail(st::invalid_resource_handle, current_device);
    const int device = s->device;
    if (!reachable_from(packed, device) || !reachable_from(slots.first, device)) {
      // The kernel faults when it runs: the device is lost, nothing is copied.
      return submit(
          *s, [device] { kernel_fault(device); }, TaskKind::Short);
    }
    auto* flat = static_cast<std::byte*>(host_view(packed));
    const auto* where = static_cast<const std::uint32_t*>(host_view(indices));
    batch::SlotPayloads on_host = slots;
    on_host.first = static_cast<std::byte*>(host_view(slots.first));
    return submit(
        *s, [=] { batch::host_copy(to_slots, flat, where, count, on_host); }, TaskKind::Short);
  }

  // --- Errors ------------------------------------------------------------------------------

  Status get_last_error() override {
    if (const Status s = sticky(current_device); s != st::success) return s;
    return std::exchange(last_error, st::success);
  }
  Status peek_at_last_error() override {
    if (const Status s = sticky(current_device); s != st::success) return s;
    return last_error;
  }
  const char* error_name(Status code) override {
    const ErrorText* e = find_error(code);
    return e != nullptr ? e->name : "cudaErrorUnknown";
  }
  const char* error_string(Status code) override {
    const ErrorText* e = find_error(code);
    return e != nullptr ? e->text : "unrecognized error code";
  }

 private:
  /// A wait ends in the device's sticky error if one happened meanwhile.
  static Status sticky_after_wait(int d) noexcept {
    if (const Status s = sticky(d); s != st::success) return fail(s, d);
    return st::success;
  }

  /// Managed memory is host memory here: a prefetch moves nothing, so it queues
  /// nothing either (work after it is ordered exactly as it would be).
  Status prefetch(const void* ptr, Stream handle) {
    Status status = st::success;
    StreamCore* s = stream_or_fail(handle, &status);
    if (s == nullptr) return status;
    if (!usual()) {
      if (const Status b = begin(s->device, InjectedCall::Copy); b != st::success) return b;
    }
    if (!host_owns(HostKind::Managed, ptr)) return fail(st::invalid_value, s->device);
    return st::success;
  }
};

}  // namespace

bool device_dead(int device) noexcept {
  return sticky(device) != st::success;
}

bool reachable_from(const void* ptr, int device) {
  const int owner = device_of(ptr);
  if (owner < 0 || owner == device) return true;  // host memory, or the device's own
  if (const PoolAccess access = pool_access_of(ptr)) {
    return (access->load(std::memory_order_acquire) >> device & 1U) != 0;  // cudaMemPoolSetAccess
  }
  // A plain allocation: cudaDeviceEnablePeerAccess, called on the accessing device.
  const auto& peers = device_states()[static_cast<std::size_t>(device)].peers;
  return (peers.load(std::memory_order_acquire) >> owner & 1U) != 0;
}

void kernel_fault(int device) noexcept {
  if (!valid_device(device)) return;
  Status expected = st::success;
  device_states()[static_cast<std::size_t>(device)].sticky.compare_exchange_strong(
      expected, st::illegal_address);
  set_unusual(kSticky, true);  // the next call on the device reports it (and quiesces it)
}

device::Status launch_host_task(device::Stream handle, std::function<void()> task) {
  Status status = st::success;
  StreamCore* s = stream_or_fail(handle, &status);
  if (s == nullptr) return status;
  if (const Status b = begin(s->device); b != st::success) return b;
  return submit(*s, std::move(task), TaskKind::User);
}

void revive_devices() noexcept {
  for (std::size_t device = 0; device < kMaxDevices; ++device) {
    DeviceState& d = device_states()[device];
    // Work the dead context had queued stays dead: its memory may be gone.
    if (d.sticky.load() != st::success) bury(static_cast<int>(device));
    d.sticky.store(st::success);
    d.peers.store(0);
  }
  set_unusual(kSticky, false);
  last_error = st::success;
}

}  // namespace limen::detail::cpu

namespace limen::detail::device {

Api& cpu() noexcept {
  static cpu::CpuApi api;
  return api;
}

}  // namespace limen::detail::device
