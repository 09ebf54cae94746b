// SPDX-License-Identifier: Apache-2.0
// A PinnedBufferPool's memory on the GPU: chunks from cudaHostAlloc (mapped
// and portable) and a pool of events, created once and recorded again and
// again, so a warm pool makes no driver allocation.
#include "../runtime_state.hpp"
#include "cuda_support.hpp"
#include "device_errors.hpp"
#include "pool_memory.hpp"

#include <deque>
#include <string>
#include <vector>

namespace limen::detail {
namespace {

class CudaPoolMemory final : public PoolMemory {
 public:
  explicit CudaPoolMemory(int ordinal) : PoolMemory(false), ordinal_(ordinal) {}

  ~CudaPoolMemory() override = default;  // the pool waits and deallocates first

  Result<Chunk> allocate(std::size_t bytes) override {
    const cuda::DeviceScope scope(ordinal_);
    if (scope.status() != cudaSuccess) return failed(scope.status(), "cudaSetDevice");
    void* host = nullptr;
    const cudaError_t status =
        cudaHostAlloc(&host, bytes, cudaHostAllocMapped | cudaHostAllocPortable);
    if (status != cudaSuccess) return failed(status, "cudaHostAlloc");
    void* device = nullptr;
    if (const cudaError_t mapped = cudaHostGetDevicePointer(&device, host, 0);
        mapped != cudaSuccess) {
      cuda::quietly(cudaFreeHost(host));
      return failed(mapped, "cudaHostGetDevicePointer");
    }
    return Chunk{static_cast<std::byte*>(host), static_cast<std::byte*>(device)};
  }

  void deallocate(std::byte* host) noexcept override { cuda::quietly(cudaFreeHost(host)); }

  Result<std::uint32_t> record(StreamHandle stream) override {
    if (health().lost()) return MemoryError::DeviceError;
    const cuda::DeviceScope scope(ordinal_);
    const std::uint32_t id = take_event();
    if (id == no_event) return MemoryError::OutOfMemory;
    cudaEvent_t event = events_[id].get();
    if (!event) {  // first use of this id: the one driver call a warm pool never makes
      const cudaError_t made = cudaEventCreateWithFlags(&event, cudaEventDisableTiming);
      if (made != cudaSuccess) {
        recycle(id);
        return failed(made, "cudaEventCreateWithFlags");
      }
      events_[id] = cuda::Event(event);
    }
    if (const cudaError_t status = cudaEventRecord(event, stream.native()); status != cudaSuccess) {
      recycle(id);
      return failed(status, "cudaEventRecord");
    }
    return id;
  }

  Result<bool> done(std::uint32_t id) override {
    if (health().lost()) return true;
    const cudaError_t status = cudaEventQuery(events_[id].get());
    if (status == cudaSuccess) return true;
    if (status == cudaErrorNotReady) {
      cuda::forget(status);
      return false;
    }
    failed(status, "cudaEventQuery");
    if (health().lost()) return true;
    return MemoryError::DeviceError;
  }

  void wait(std::uint32_t id) noexcept override {
    cuda::quietly(cudaEventSynchronize(events_[id].get()));
  }

  void recycle(std::uint32_t id) noexcept override {
    try {
      free_ids_.push_back(id);
    } catch (...) {  // out of memory: the event is simply not reused
    }
  }

  Result<void> synchronize(StreamHandle stream) override {
    if (const cudaError_t status = cudaStreamSynchronize(stream.native()); status != cudaSuccess) {
      return failed(status, "cudaStreamSynchronize");
    }
    return {};
  }

 private:
  static constexpr std::uint32_t no_event = 0xFFFF'FFFFU;

  /// A free event id (grows the pool by one when none is free).
  std::uint32_t take_event() noexcept {
    try {
      if (!free_ids_.empty()) {
        const std::uint32_t id = free_ids_.back();
        free_ids_.pop_back();
        return id;
      }
      events_.emplace_back();
      return static_cast<std::uint32_t>(events_.size() - 1);
    } catch (...) {
      return no_event;
    }
  }

  MemoryError failed(cudaError_t status, const char* call) {
    cuda::forget(status);
    const bool sticky = is_sticky_cuda_error(static_cast<int>(status));
    DeviceErrorInfo info = cuda::error_info(status, call, "cuda_pool_memory.cpp");
    if (sticky) report_device_lost(ordinal_, info);
    return health().fail(std::move(info), sticky);
  }

  int ordinal_;
  std::deque<cuda::Event> events_;
  std::vector<std::uint32_t> free_ids_;
};

}  // namespace

PoolMemoryOrError make_cuda_pool_memory(const PoolConfig& config) {
  return {std::make_unique<CudaPoolMemory>(static_cast<int>(config.device)),
          MemoryError::Unsupported,
          {}};
}

}  // namespace limen::detail
