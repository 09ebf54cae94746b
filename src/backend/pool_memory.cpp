// SPDX-License-Identifier: Apache-2.0
// A PinnedBufferPool's memory and events (see pool_memory.hpp).
#include "pool_memory.hpp"

#include "../device/device_errors.hpp"
#include "../runtime_state.hpp"
#include "capture_mode.hpp"

namespace limen::detail {

Result<PoolMemory::Chunk> PoolMemory::allocate(std::size_t bytes) {
  const DeviceScope scope(api_, ordinal_);
  if (scope.status() != device::status::success) return failed(scope.status(), "cudaSetDevice");
  const RelaxedCaptureMode relaxed(api_);  // growing must not invalidate a user's capture
  void* host = nullptr;
  const device::Status status =
      api_.host_alloc(&host, bytes, device::host_alloc_mapped | device::host_alloc_portable);
  if (status != device::status::success) return failed(status, "cudaHostAlloc");
  void* mapped = nullptr;
  if (const device::Status s = api_.host_get_device_pointer(&mapped, host);
      s != device::status::success) {
    quietly(api_, api_.free_host(host));
    return failed(s, "cudaHostGetDevicePointer");
  }
  return Chunk{static_cast<std::byte*>(host), static_cast<std::byte*>(mapped)};
}

void PoolMemory::deallocate(std::byte* host) noexcept {
  const RelaxedCaptureMode relaxed(api_);  // never break another thread's capture
  quietly(api_, api_.free_host(host));
}

Result<std::uint32_t> PoolMemory::take_event() {
  std::uint32_t id = no_event;
  try {
    if (!free_ids_.empty()) {
      id = free_ids_.back();
      free_ids_.pop_back();
    } else {
      events_.emplace_back();
      id = static_cast<std::uint32_t>(events_.size() - 1);
    }
  } catch (...) {
    return MemoryError::OutOfMemory;
  }
  if (!events_[id]) {  // first use of this id: the one driver call a warm pool never makes
    const RelaxedCaptureMode relaxed(api_);
    device::Event event = nullptr;
    const device::Status made = api_.event_create(
        &event, device::event_disable_timing | device::event_blocking_sync);
    if (made != device::status::success) {
      recycle(id);
      return failed(made, "cudaEventCreateWithFlags");
    }
    events_[id] = OwnedEvent(api_, event);
  }
  return id;
}

Result<std::uint32_t> PoolMemory::record(StreamHandle stream) {
  if (health_.lost()) return MemoryError::DeviceError;
  const DeviceScope scope(api_, ordinal_);
  if (scope.status() != device::status::success) return failed(scope.status(), "cudaSetDevice");
  auto id = take_event();
  if (!id) return id;
  if (const device::Status status = api_.event_record(events_[*id].get(), stream.native());
      status != device::status::success) {
    recycle(*id);
    return failed(status, "cudaEventRecord");
  }
  return id;
}

Result<bool> PoolMemory::done(std::uint32_t id) {
  if (health_.lost()) return true;
  const device::Status status = api_.event_query(events_[id].get());
  if (status == device::status::success) return true;
  if (status == device::status::not_ready) {
    forget(api_, status);
    return false;
  }
  failed(status, "cudaEventQuery");
  if (health_.lost()) return true;
  return MemoryError::DeviceError;
}

void PoolMemory::wait(std::uint32_t id) noexcept {
  quietly(api_, api_.event_synchronize(events_[id].get()));
}

void PoolMemory::recycle(std::uint32_t id) noexcept {
  try {
    free_ids_.push_back(id);
  } catch (...) {  // out of memory: the event is simply not reused
  }
}

Result<void> PoolMemory::synchronize(StreamHandle stream) {
  std::lock_guard lock(spare_mutex_);
  const DeviceScope scope(api_, ordinal_);
  if (scope.status() != device::status::success) return failed(scope.status(), "cudaSetDevice");
  if (!spare_) {
    device::Event event = nullptr;
    const device::Status made = api_.event_create(
        &event, device::event_disable_timing | device::event_blocking_sync);
    if (made != device::status::success) return failed(made, "cudaEventCreateWithFlags");
    spare_ = OwnedEvent(api_, event);
  }
  if (const device::Status s = api_.event_record(spare_.get(), stream.native());
      s != device::status::success) {
    return failed(s, "cudaEventRecord");
  }
  if (const device::Status s = api_.event_synchronize(spare_.get());
      s != device::status::success) {
    return failed(s, "cudaEventSynchronize");
  }
  return {};
}

Result<bool> PoolMemory::capturing(StreamHandle stream) {
  const DeviceScope scope(api_, ordinal_);
  if (scope.status() != device::status::success) return failed(scope.status(), "cudaSetDevice");
  device::CaptureStatus status = device::CaptureStatus::None;
  if (const device::Status s = api_.stream_is_capturing(stream.native(), &status);
      s != device::status::success) {
    return failed(s, "cudaStreamIsCapturing");
  }
  return status != device::CaptureStatus::None;
}

Result<void> PoolMemory::synchronize_device() {
  const DeviceScope scope(api_, ordinal_);
  if (scope.status() != device::status::success) return failed(scope.status(), "cudaSetDevice");
  if (const device::Status s = api_.device_synchronize(); s != device::status::success) {
    return failed(s, "cudaDeviceSynchronize");
  }
  return {};
}

MemoryError PoolMemory::failed(device::Status status, const char* call) {
  forget(api_, status);
  const bool sticky = is_sticky_cuda_error(status);
  DeviceErrorInfo info;
  try {
    info = error_info(api_, status, call, "pool_memory.cpp");
  } catch (...) {
    info = DeviceErrorInfo{};
    info.code = status;
  }
  if (sticky) report_device_lost(ordinal_, info);
  return health_.fail(std::move(info), sticky);
}

}  // namespace limen::detail
