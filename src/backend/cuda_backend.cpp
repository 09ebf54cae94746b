// SPDX-License-Identifier: Apache-2.0
// The GPU backends' shared part (see cuda_backend.hpp) and make_cuda_backend.
#include "cuda_backend.hpp"

#include "../runtime_state.hpp"
#include "device_errors.hpp"

#include <limen/runtime.hpp>

#include <cstring>
#include <string>

namespace limen::detail {

CudaBackend::CudaBackend(const BackendSpec& spec)
    : Backend(false, spec),
      ordinal_(static_cast<int>(spec.config.device)),
      event_flags_(cudaEventDisableTiming |
                   (spec.config.host_wait == HostWait::Block ? cudaEventBlockingSync : 0U)),
      borrowed_(spec.config.stream.has_value()) {
  const DeviceInfo& device = runtime_info().devices.at(static_cast<std::size_t>(ordinal_));
  concurrent_managed_access_ = device.concurrent_managed_access;
  memory_pools_ = device.memory_pools;
  if (borrowed_) stream_ = *spec.config.stream;  // the caller's: never destroyed or synced here
}

CudaBackend::~CudaBackend() {
  const cuda::DeviceScope scope(ordinal_);
  // Device work on any stream may still use the slots (leases on callers'
  // streams, deferred frees, our own copies): wait for each slot's last event
  // before the members below release memory. Borrowed streams are not touched.
  for (std::size_t i = 0; i < events_.size(); ++i) {
    const auto slot = static_cast<std::uint32_t>(i);
    if (events_[i] && work_epoch(slot) != 0) cuda::quietly(cudaEventSynchronize(event_of(slot)));
  }
  if (copy_stream_) cuda::quietly(cudaStreamSynchronize(copy_stream_.get()));
}

Result<void> CudaBackend::init() {
  LIMEN_CUDA_ON_DEVICE();
  cudaStream_t stream = nullptr;
  LIMEN_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  copy_stream_ = cuda::Stream(stream);
  if (!borrowed_) {
    LIMEN_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    owned_stream_ = cuda::Stream(stream);
    stream_ = StreamHandle(stream);
  }
  // The slot memory first: an impossible capacity fails there, before any
  // per-slot bookkeeping is allocated and touched.
  if (auto allocated = allocate(); !allocated) return allocated;
  track_slots();
  slot_batch_ = std::make_unique<std::atomic<std::uint32_t>[]>(layout_.capacity);
  events_.resize(layout_.capacity);
  for (cuda::Event& e : events_) {
    cudaEvent_t event = nullptr;
    LIMEN_CUDA_TRY(cudaEventCreateWithFlags(&event, event_flags_));
    e = cuda::Event(event);
  }
  return {};
}

MemoryError CudaBackend::failed(cudaError_t status, const char* call, const char* file, int line) {
  cuda::forget(status);
  const bool sticky = is_sticky_cuda_error(static_cast<int>(status));
  DeviceErrorInfo info =
      cuda::error_info(status, call, (std::string(file) + ":" + std::to_string(line)).c_str());
  if (sticky) report_device_lost(ordinal_, info);
  return fail(std::move(info), sticky);
}

Result<void> CudaBackend::prepare_device_use(std::uint32_t slot, StreamHandle stream) {
  if (lost()) return MemoryError::DeviceError;
  LIMEN_CUDA_ON_DEVICE();
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  LIMEN_CUDA_TRY(cudaStreamIsCapturing(stream.native(), &capture));
  // A lease on a stream being captured would order against an event the
  // graph, not the stream, records: refused (README, "Graph capture").
  if (capture != cudaStreamCaptureStatusNone) return MemoryError::Unsupported;
  if (work_epoch(slot) != 0) {
    LIMEN_CUDA_TRY(cudaStreamWaitEvent(stream.native(), event_of(slot), 0));
  }
  return {};
}

Result<void> CudaBackend::end_device_use(std::uint32_t slot, StreamHandle stream) noexcept {
  if (lost()) return MemoryError::DeviceError;
  LIMEN_CUDA_ON_DEVICE();
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  LIMEN_CUDA_TRY(cudaStreamIsCapturing(stream.native(), &capture));
  use_own_event(slot);
  if (capture != cudaStreamCaptureStatusNone) {
    // Capture began after the lease did: record an external event node, so the
    // event completes when the graph runs that far.
    LIMEN_CUDA_TRY(
        cudaEventRecordWithFlags(events_[slot].get(), stream.native(), cudaEventRecordExternal));
    mark_work(slot, /*foreign=*/true);
    return {};
  }
  const cudaError_t recorded = cudaEventRecord(events_[slot].get(), stream.native());
  if (recorded == cudaSuccess) {
    mark_work(slot, /*foreign=*/true);
    return {};
  }
  failed(recorded, "cudaEventRecord", __FILE__, __LINE__);
  // Waiting for the whole stream is the safe substitute for the event.
  LIMEN_CUDA_TRY(cudaStreamSynchronize(stream.native()));
  count_sync();
  retire_work(slot, work_epoch(slot));
  return {};
}

Result<bool> CudaBackend::work_done(std::uint32_t slot) {
  if (lost() || work_epoch(slot) == 0) return true;
  LIMEN_CUDA_ON_DEVICE();
  const cudaError_t status = cudaEventQuery(event_of(slot));
  if (status == cudaSuccess) return true;
  if (status == cudaErrorNotReady) {
    cuda::forget(status);  // "not yet" must not linger as the caller's last error
    return false;
  }
  failed(status, "cudaEventQuery", __FILE__, __LINE__);
  if (lost()) return true;  // nothing will ever run again: the slot is free
  return MemoryError::DeviceError;
}

Result<void> CudaBackend::wait_work(std::uint32_t slot) {
  if (lost() || work_epoch(slot) == 0) return {};
  LIMEN_CUDA_ON_DEVICE();
  auto range = nvtx().range(nvtx::Op::Sync);
  const cudaError_t status = cudaEventSynchronize(event_of(slot));
  if (status != cudaSuccess) {
    failed(status, "cudaEventSynchronize", __FILE__, __LINE__);
    if (lost()) return {};
    return MemoryError::DeviceError;
  }
  count_sync();
  return {};
}

Result<void> CudaBackend::wait_for_lease_work(std::uint32_t slot) {
  if (!foreign_work(slot)) return {};
  const std::uint32_t epoch = work_epoch(slot);
  if (auto waited = wait_work(slot); !waited) return waited;
  if (lost()) return MemoryError::DeviceError;
  retire_work(slot, epoch);
  return {};
}

Result<void> CudaBackend::sync_copies() {
  LIMEN_CUDA_TRY(cudaStreamSynchronize(copy_stream()));
  count_sync();
  return {};
}

Result<void> CudaBackend::record_copy(std::uint32_t slot) {
  use_own_event(slot);
  const cudaError_t recorded = cudaEventRecord(events_[slot].get(), copy_stream());
  if (recorded == cudaSuccess) {
    mark_work(slot, /*foreign=*/false);
    return {};
  }
  failed(recorded, "cudaEventRecord", __FILE__, __LINE__);
  return sync_copies();  // the safe substitute for the event
}

// --- Batches ---------------------------------------------------------------------

cudaEvent_t CudaBackend::event_of(std::uint32_t slot) {
  const std::uint32_t batch = slot_batch_[slot].load(std::memory_order_acquire);
  if (batch == 0) return events_[slot].get();
  std::lock_guard lock(batch_mutex_);
  return batch_events_[batch - 1].event.get();
}

void CudaBackend::use_own_event(std::uint32_t slot) noexcept {
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

Result<std::uint32_t> CudaBackend::batch_event(std::uint32_t users) {
  std::lock_guard lock(batch_mutex_);
  std::uint32_t id = 0;
  if (!free_batch_events_.empty()) {
    id = free_batch_events_.back();
    free_batch_events_.pop_back();
  } else {
    cudaEvent_t event = nullptr;
    LIMEN_CUDA_TRY(cudaEventCreateWithFlags(&event, event_flags_));
    batch_events_.emplace_back().event = cuda::Event(event);
    id = static_cast<std::uint32_t>(batch_events_.size() - 1);
  }
  batch_events_[id].users.store(users);
  return id;
}

Result<void> CudaBackend::begin_batch(std::span<const std::uint32_t> slots, StreamHandle stream) {
  if (lost()) return MemoryError::DeviceError;
  LIMEN_CUDA_ON_DEVICE();
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  LIMEN_CUDA_TRY(cudaStreamIsCapturing(stream.native(), &capture));
  if (capture != cudaStreamCaptureStatusNone) return MemoryError::Unsupported;
  cudaEvent_t waited = nullptr;  // slots of one earlier batch share an event: wait once
  for (std::uint32_t slot : slots) {
    if (work_epoch(slot) == 0) continue;
    cudaEvent_t event = event_of(slot);
    if (event == waited) continue;
    LIMEN_CUDA_TRY(cudaStreamWaitEvent(stream.native(), event, 0));
    waited = event;
  }
  return {};
}

Result<void> CudaBackend::end_batch(std::span<const std::uint32_t> slots, StreamHandle stream) {
  auto id = batch_event(static_cast<std::uint32_t>(slots.size()));
  cudaError_t recorded = cudaErrorMemoryAllocation;
  if (id) {
    cudaEvent_t event = nullptr;
    {
      std::lock_guard lock(batch_mutex_);
      event = batch_events_[*id].event.get();
    }
    recorded = cudaEventRecord(event, stream.native());
    if (recorded != cudaSuccess) {
      {
        std::lock_guard lock(batch_mutex_);
        batch_events_[*id].users.store(0);
        free_batch_events_.push_back(*id);
      }
      failed(recorded, "cudaEventRecord", __FILE__, __LINE__);
    }
  }
  if (recorded != cudaSuccess) {
    // Waiting for the whole stream is the safe substitute for the event.
    LIMEN_CUDA_TRY(cudaStreamSynchronize(stream.native()));
    count_sync();
    for (std::uint32_t slot : slots) retire_work(slot, work_epoch(slot));
    return {};
  }
  for (std::uint32_t slot : slots) {
    use_own_event(slot);
    slot_batch_[slot].store(*id + 1, std::memory_order_release);
    mark_work(slot, /*foreign=*/true);
  }
  return {};
}

Result<PinnedBuffer> CudaBackend::staging(std::size_t bytes) {
  try {
    std::call_once(staging_once_, [this] {
      PoolConfig config;
      config.device = static_cast<unsigned>(ordinal_);
      config.fallback = Fallback::Fail;
      config.name = "limen-staging";
      staging_.emplace(std::move(config));
    });
  } catch (const MemoryErrorException& e) {
    return e.error();
  }
  return staging_->allocate(bytes);
}

Result<void> CudaBackend::copy_each(std::span<const std::uint32_t> slots, std::byte* flat,
                                    bool to_slots, StreamHandle stream) {
  const std::size_t bytes = layout_.payload_bytes;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    std::byte* slot = device_payload(slots[i]);
    std::byte* item = flat + i * bytes;
    LIMEN_CUDA_TRY(cudaMemcpyAsync(to_slots ? slot : item, to_slots ? item : slot, bytes,
                                   cudaMemcpyDefault, stream.native()));
  }
  return {};
}

Result<void> CudaBackend::upload_batch(std::span<const std::uint32_t> slots,
                                       const std::byte* messages, std::size_t message_stride,
                                       StreamHandle) {
  if (lost()) return MemoryError::DeviceError;
  write_payloads(slots, messages, message_stride);
  return {};
}

Result<void> CudaBackend::gather(std::span<const std::uint32_t> slots, std::byte* out,
                                 StreamHandle stream) {
  return run_batch(slots, out, /*to_slots=*/false, stream);
}

Result<void> CudaBackend::scatter(const std::byte* in, std::span<const std::uint32_t> slots,
                                  StreamHandle stream) {
  return run_batch(slots, const_cast<std::byte*>(in), /*to_slots=*/true, stream);
}

Result<void> CudaBackend::run_batch(std::span<const std::uint32_t> slots, std::byte* flat,
                                    bool to_slots, StreamHandle stream) {
  if (auto ready = begin_batch(slots, stream); !ready) return ready;
  auto range = nvtx().range(nvtx::Op::Batch);
#if LIMEN_HAVE_CUDA_KERNELS
  // One kernel; it reads the slot indices through the staging buffer's mapped pointer.
  auto indices = staging(slots.size() * sizeof(std::uint32_t));
  if (!indices) return indices.error();
  std::memcpy(indices->data(), slots.data(), slots.size() * sizeof(std::uint32_t));
  const auto* device_indices = static_cast<const std::uint32_t*>(indices->device_ptr());
  const int launched = to_slots ? batch::device_scatter(flat, device_indices, slots.size(),
                                                        payloads(), stream.native(), pool_.get())
                                : batch::device_gather(flat, device_indices, slots.size(),
                                                       payloads(), stream.native(), pool_.get());
  indices->reset(stream);  // back to the pool once the kernel has read it
  if (launched != 0) {
    return failed(static_cast<cudaError_t>(launched), to_slots ? "batch scatter" : "batch gather",
                  __FILE__, __LINE__);
  }
#else
  // Built without nvcc: one copy per slot instead of one kernel.
  if (auto copied = copy_each(slots, flat, to_slots, stream); !copied) return copied;
#endif
  return end_batch(slots, stream);
}

BackendOrError make_cuda_backend(const BackendSpec& spec) {
  std::unique_ptr<CudaBackend> backend;
  switch (spec.kind) {
    case MemoryKind::PinnedHost: backend = make_cuda_pinned(spec); break;
    case MemoryKind::Device: backend = make_cuda_device(spec); break;
    default: backend = make_cuda_managed(spec); break;
  }
  if (auto ready = backend->init(); !ready) {
    const auto error = backend->last_error();
    return {nullptr, ready.error(),
            error ? error->call + " failed: " + error->name + " (" + error->text + ") at " +
                        error->where
                  : "CUDA initialisation failed"};
  }
  return {std::move(backend), MemoryError::Unsupported, {}};
}

}  // namespace limen::detail
