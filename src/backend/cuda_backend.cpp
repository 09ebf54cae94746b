// SPDX-License-Identifier: Apache-2.0
// The GPU backends' shared part (see cuda_backend.hpp) and make_cuda_backend.
#include "cuda_backend.hpp"

#include "../runtime_state.hpp"
#include "device_errors.hpp"

#include <limen/runtime.hpp>

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
    if (events_[i] && work_epoch(static_cast<std::uint32_t>(i)) != 0) {
      cuda::quietly(cudaEventSynchronize(events_[i].get()));
    }
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
    LIMEN_CUDA_TRY(cudaStreamWaitEvent(stream.native(), events_[slot].get(), 0));
  }
  return {};
}

Result<void> CudaBackend::end_device_use(std::uint32_t slot, StreamHandle stream) noexcept {
  if (lost()) return MemoryError::DeviceError;
  LIMEN_CUDA_ON_DEVICE();
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  LIMEN_CUDA_TRY(cudaStreamIsCapturing(stream.native(), &capture));
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
  const cudaError_t status = cudaEventQuery(events_[slot].get());
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
  const cudaError_t status = cudaEventSynchronize(events_[slot].get());
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
  const cudaError_t recorded = cudaEventRecord(events_[slot].get(), copy_stream());
  if (recorded == cudaSuccess) {
    mark_work(slot, /*foreign=*/false);
    return {};
  }
  failed(recorded, "cudaEventRecord", __FILE__, __LINE__);
  return sync_copies();  // the safe substitute for the event
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
