// SPDX-License-Identifier: Apache-2.0
// What the three GPU backends (cuda_pinned.cpp, cuda_device.cpp,
// cuda_managed.cpp) share: the device, the streams, one event per slot,
// error handling, and the ordering of leases and host waits.
//
// Streams: guard copies and prefetches run on a private non-blocking copy
// stream, so host access to one slot never queues behind kernels on others,
// and a borrowed stream is only ever used for the leases the caller asks for;
// teardown never touches it. Events: one per slot, recorded where the slot's
// last work was queued; blocking-sync events unless the configuration says spin.
#pragma once

#include "backends.hpp"
#include "cuda_support.hpp"

#include <limen/detail/backend.hpp>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <vector>

namespace limen::detail {

/// Runs a CUDA call inside a CudaBackend member; on failure records it and
/// returns DeviceError from the caller.
#define LIMEN_CUDA_TRY(call)                                         \
  do {                                                               \
    const cudaError_t limen_status_ = (call);                        \
    if (limen_status_ != cudaSuccess) {                              \
      return this->failed(limen_status_, #call, __FILE__, __LINE__); \
    }                                                                \
  } while (0)

/// Makes the backend's device current for the rest of the scope, or returns DeviceError.
#define LIMEN_CUDA_ON_DEVICE()                                                       \
  const cuda::DeviceScope limen_scope_(this->ordinal_);                              \
  if (limen_scope_.status() != cudaSuccess) {                                        \
    return this->failed(limen_scope_.status(), "cudaSetDevice", __FILE__, __LINE__); \
  }

class CudaBackend : public Backend {
 public:
  ~CudaBackend() override;

  Result<void> prepare_device_use(std::uint32_t slot, StreamHandle stream) override;
  Result<void> end_device_use(std::uint32_t slot, StreamHandle stream) noexcept override;
  Result<bool> work_done(std::uint32_t slot) override;
  Result<void> wait_work(std::uint32_t slot) override;

  /** @brief Creates the streams and events, then the subclass's memory; false: see last_error(). */
  Result<void> init();

 protected:
  explicit CudaBackend(const BackendSpec& spec);

  /** @brief Allocates the class's memory (after streams and events exist). */
  virtual Result<void> allocate() = 0;

  /** @brief Keeps the failed call for last_error(); a sticky error marks the device lost. */
  MemoryError failed(cudaError_t status, const char* call, const char* file, int line);

  /** @brief Waits on the host for work a lease queued on @p slot (own copies need no wait). */
  Result<void> wait_for_lease_work(std::uint32_t slot);
  /** @brief Waits for the private copy stream: every copy queued on it so far. */
  Result<void> sync_copies();
  /** @brief Records slot @p slot's event after a copy queued on the copy stream. */
  Result<void> record_copy(std::uint32_t slot);

  [[nodiscard]] cudaStream_t copy_stream() const noexcept { return copy_stream_.get(); }
  [[nodiscard]] std::size_t slot_bytes() const noexcept {
    return layout_.capacity * layout_.stride;  // checked by make_backend
  }

  int ordinal_;
  bool concurrent_managed_access_ = false;
  bool memory_pools_ = false;
  // Declared in teardown order, last first: memory goes before the pool that
  // served it, events and streams last.
  cuda::Stream copy_stream_;
  cuda::Stream owned_stream_;
  std::vector<cuda::Event> events_;
  cuda::MemPool pool_;
  cuda::Allocation slots_;
  cuda::Allocation shadow_;

 private:
  unsigned event_flags_;
  bool borrowed_;
};

/// The three classes (each in its own file).
std::unique_ptr<CudaBackend> make_cuda_pinned(const BackendSpec& spec);
std::unique_ptr<CudaBackend> make_cuda_device(const BackendSpec& spec);
std::unique_ptr<CudaBackend> make_cuda_managed(const BackendSpec& spec);

}  // namespace limen::detail
