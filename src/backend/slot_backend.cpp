// SPDX-License-Identifier: Apache-2.0
// The backends' shared part (see slot_backend.hpp): construction, teardown,
// errors, leases and host waits. Batches are in slot_backend_batch.cpp.
#include "slot_backend.hpp"

#include "../device/device_errors.hpp"
#include "../device/fault_hooks.hpp"
#include "../runtime_state.hpp"
#include "capture_mode.hpp"

#include <string>

namespace limen::detail {

SlotBackend::SlotBackend(const BackendSpec& spec, device::Api& api)
    : Backend(api.is_cpu(), spec),
      api_(api),
      ordinal_(static_cast<int>(spec.config.device)),
      event_flags_(device::event_disable_timing |
                   (spec.config.host_wait == HostWait::Block ? device::event_blocking_sync : 0U)),
      borrowed_(spec.config.stream.has_value()) {
  if (borrowed_) stream_ = *spec.config.stream;  // the caller's: never destroyed or synced here
}

SlotBackend::~SlotBackend() {
  const DeviceScope scope(api_, ordinal_, only_device_);
  // Device work on any stream may still use the slots (leases on callers'
  // streams, deferred frees, batches, our own copies): wait for each slot's
  // last event before the members below release memory. Borrowed streams are
  // never touched. A lost device answers at once.
  for (std::size_t i = 0; i < events_.size(); ++i) {
    const auto slot = static_cast<std::uint32_t>(i);
    if (events_[i] && work_epoch(slot) != 0) quietly(api_, api_.event_synchronize(event_of(slot)));
  }
  // Frees are "unsafe" calls under another thread's global capture: release
  // the memory here, in relaxed mode, rather than in the members' destructors.
  const RelaxedCaptureMode relaxed(api_);
  shadow_ = Allocation();
  slots_ = Allocation();
  pool_.reset();
}

Result<void> SlotBackend::init() {
  LIMEN_ON_DEVICE();
  int devices = 0;
  LIMEN_DEVICE_TRY("cudaGetDeviceCount", api_.device_count(&devices));
  only_device_ = devices == 1;
  const RelaxedCaptureMode relaxed(api_);  // never invalidate another thread's capture
  device::Properties properties;
  LIMEN_DEVICE_TRY("cudaGetDeviceProperties", api_.device_properties(&properties, ordinal_));
  concurrent_managed_access_ = properties.concurrent_managed_access;
  bool pools = false;
  LIMEN_DEVICE_TRY("cudaDeviceGetAttribute", api_.memory_pools_supported(&pools, ordinal_));
  memory_pools_ = pools && !pools_disabled_for_tests();
  device::Stream stream = nullptr;
  LIMEN_DEVICE_TRY("cudaStreamCreateWithFlags",
                   api_.stream_create_private(&stream, device::stream_non_blocking));
  copy_stream_ = OwnedStream(api_, stream);
  if (!borrowed_) {
    LIMEN_DEVICE_TRY("cudaStreamCreateWithFlags",
                     api_.stream_create(&stream, device::stream_non_blocking));
    owned_stream_ = OwnedStream(api_, stream);
    stream_ = StreamHandle(stream);
  }
  device::Event spare = nullptr;
  LIMEN_DEVICE_TRY("cudaEventCreateWithFlags", api_.event_create(&spare, event_flags_));
  spare_event_ = OwnedEvent(api_, spare);
  // The slot memory first: an impossible capacity fails there, before any
  // per-slot bookkeeping is allocated and touched.
  if (auto allocated = allocate(); !allocated) return allocated;
  track_slots();
  slot_batch_ = std::make_unique<std::atomic<std::uint32_t>[]>(layout_.capacity);
  events_.reserve(layout_.capacity);
  for (std::size_t i = 0; i < layout_.capacity; ++i) {
    device::Event event = nullptr;
    LIMEN_DEVICE_TRY("cudaEventCreateWithFlags", api_.event_create(&event, event_flags_));
    events_.emplace_back(api_, event);
  }
  return {};
}

MemoryError SlotBackend::failed(device::Status status, const char* call, const char* file,
                                int line) {
  forget(api_, status);
  const bool sticky = is_sticky_cuda_error(status);
  DeviceErrorInfo info;
  try {
    info = error_info(api_, status, call, (std::string(file) + ":" + std::to_string(line)).c_str());
  } catch (...) {  // out of memory describing it: the code alone
    info = DeviceErrorInfo{};
    info.code = status;
  }
  if (sticky) report_device_lost(ordinal_, info);
  return fail(std::move(info), sticky);
}

Result<void> SlotBackend::refuse_capture(StreamHandle stream) {
  device::CaptureStatus capture = device::CaptureStatus::None;
  const device::Status asked = api_.stream_is_capturing(stream.native(), &capture);
  if (asked == device::status::capture_implicit) {
    // The legacy stream while a blocking stream is being captured: work on it
    // would join that capture.
    forget(api_, asked);
    return MemoryError::Unsupported;
  }
  if (asked != device::status::success) {
    return failed(asked, "cudaStreamIsCapturing", __FILE__, __LINE__);
  }
  // Work on a stream being captured would order against an event the graph,
  // not the stream, records: refused (README, "Graph capture").
  if (capture != device::CaptureStatus::None) return MemoryError::Unsupported;
  return {};
}

Result<void> SlotBackend::prepare_device_use(std::uint32_t slot, StreamHandle stream) {
  if (lost()) return MemoryError::DeviceError;
  LIMEN_ON_DEVICE();
  if (auto refused = refuse_capture(stream); !refused) return refused;
  if (work_epoch(slot) != 0) {
    LIMEN_DEVICE_TRY("cudaStreamWaitEvent", api_.stream_wait_event(stream.native(), event_of(slot)));
  }
  return {};
}

Result<void> SlotBackend::end_device_use(std::uint32_t slot, StreamHandle stream) noexcept {
  if (lost()) return MemoryError::DeviceError;
  LIMEN_ON_DEVICE();
  // Ending on a stream being captured: the lease's kernels are in a graph that
  // may run at any launch, any number of times, and its earlier work cannot be
  // marked either (an event recorded now would be a graph node). Nothing can
  // order host access after it: Unsupported, and the core sets the slot aside.
  if (auto refused = refuse_capture(stream); !refused) return refused;
  use_own_event(slot);
  const device::Status recorded = api_.event_record(events_[slot].get(), stream.native());
  if (recorded == device::status::success) {
    mark_work(slot, /*foreign=*/true);
    return {};
  }
  failed(recorded, "cudaEventRecord", __FILE__, __LINE__);
  // Waiting for the whole stream is the safe substitute for the slot's event.
  if (auto waited = wait_stream(stream.native()); !waited) return waited;
  retire_work(slot, work_epoch(slot));
  return {};
}

Result<bool> SlotBackend::work_done(std::uint32_t slot) {
  if (lost() || work_epoch(slot) == 0) return true;
  LIMEN_ON_DEVICE();
  const device::Status status = api_.event_query(event_of(slot));
  if (status == device::status::success) return true;
  if (status == device::status::not_ready) {
    forget(api_, status);  // "not yet" must not linger as the caller's last error
    return false;
  }
  failed(status, "cudaEventQuery", __FILE__, __LINE__);
  if (lost()) return true;  // nothing will ever run again: the slot is free
  return MemoryError::DeviceError;
}

Result<void> SlotBackend::wait_work(std::uint32_t slot) {
  if (lost() || work_epoch(slot) == 0) return {};
  LIMEN_ON_DEVICE();
  auto range = nvtx().range(nvtx::Op::Sync);
  const device::Status status = api_.event_synchronize(event_of(slot));
  if (status != device::status::success) {
    failed(status, "cudaEventSynchronize", __FILE__, __LINE__);
    if (lost()) return {};
    return MemoryError::DeviceError;
  }
  count_sync();
  return {};
}

Result<void> SlotBackend::order_copies_after_leases(std::uint32_t slot) {
  if (!foreign_work(slot)) return {};  // the slot's own copies are on the copy stream already
  LIMEN_DEVICE_TRY("cudaStreamWaitEvent", api_.stream_wait_event(copy_stream(), event_of(slot)));
  return {};
}

Result<void> SlotBackend::record_copy(std::uint32_t slot) {
  use_own_event(slot);
  const device::Status recorded = api_.event_record(events_[slot].get(), copy_stream());
  if (recorded == device::status::success) {
    mark_work(slot, /*foreign=*/false);
    return {};
  }
  failed(recorded, "cudaEventRecord", __FILE__, __LINE__);
  if (auto waited = wait_stream(copy_stream()); !waited) return waited;
  retire_work(slot, work_epoch(slot));
  return {};
}

Result<void> SlotBackend::finish_host_access(std::uint32_t slot) {
  if (auto recorded = record_copy(slot); !recorded) return recorded;
  const std::uint32_t epoch = work_epoch(slot);
  if (epoch == 0) return {};  // the substitute wait already covered it
  auto range = nvtx().range(nvtx::Op::Sync);
  LIMEN_DEVICE_TRY("cudaEventSynchronize", api_.event_synchronize(events_[slot].get()));
  count_sync();
  retire_work(slot, epoch);
  return {};
}

Result<void> SlotBackend::wait_stream(device::Stream stream, bool counted) {
  std::lock_guard lock(spare_mutex_);
  LIMEN_DEVICE_TRY("cudaEventRecord", api_.event_record(spare_event_.get(), stream));
  if (!counted) {  // set-up, not a message's wait: neither counted nor annotated
    LIMEN_DEVICE_TRY("cudaEventSynchronize", api_.event_synchronize(spare_event_.get()));
    return {};
  }
  auto range = nvtx().range(nvtx::Op::Sync);
  LIMEN_DEVICE_TRY("cudaEventSynchronize", api_.event_synchronize(spare_event_.get()));
  count_sync();
  return {};
}

// --- Slot events and batch events -------------------------------------------------------

device::Event SlotBackend::event_of(std::uint32_t slot) {
  const std::uint32_t batch = slot_batch_[slot].load(std::memory_order_acquire);
  if (batch == 0) return events_[slot].get();
  std::lock_guard lock(batch_mutex_);
  return batch_events_[batch - 1].event.get();
}

void SlotBackend::use_own_event(std::uint32_t slot) noexcept {
  // One thread works on a slot at a time (the core's slot word hands it over);
  // only the batch's user count is shared.
  if (slot_batch_[slot].load(std::memory_order_relaxed) == 0) return;
  const std::uint32_t batch = slot_batch_[slot].exchange(0, std::memory_order_acq_rel);
  if (batch == 0) return;
  std::lock_guard lock(batch_mutex_);
  if (batch_events_[batch - 1].users.fetch_sub(1) == 1) {
    try {
      free_batch_events_.push_back(batch - 1);
    } catch (...) {  // out of memory: the event is simply not reused
    }
  }
}

Result<std::uint32_t> SlotBackend::batch_event(std::uint32_t users) {
  std::lock_guard lock(batch_mutex_);
  std::uint32_t id = 0;
  if (!free_batch_events_.empty()) {
    id = free_batch_events_.back();
    free_batch_events_.pop_back();
  } else {
    device::Event event = nullptr;
    LIMEN_DEVICE_TRY("cudaEventCreateWithFlags", api_.event_create(&event, event_flags_));
    batch_events_.emplace_back().event = OwnedEvent(api_, event);
    id = static_cast<std::uint32_t>(batch_events_.size() - 1);
  }
  batch_events_[id].users.store(users);
  return id;
}

void SlotBackend::drop_batch_event(std::uint32_t id) noexcept {
  std::lock_guard lock(batch_mutex_);
  batch_events_[id].users.store(0);
  try {
    free_batch_events_.push_back(id);
  } catch (...) {  // out of memory: the event is simply not reused
  }
}

}  // namespace limen::detail
