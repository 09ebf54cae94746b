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
#include "batch_ops.hpp"
#include "cuda_support.hpp"

#include <limen/detail/backend.hpp>
#include <limen/pinned_buffer_pool.hpp>

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
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
  /** @brief Host-visible classes (pinned, managed): the host writes the payloads. */
  Result<void> upload_batch(std::span<const std::uint32_t> slots, const std::byte* messages,
                            std::size_t message_stride, StreamHandle stream) override;
  Result<void> gather(std::span<const std::uint32_t> slots, std::byte* out,
                      StreamHandle stream) override;
  Result<void> scatter(const std::byte* in, std::span<const std::uint32_t> slots,
                       StreamHandle stream) override;

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

  /** @brief Before batch work on @p stream: refused while capturing; each slot's earlier work
   * first. */
  Result<void> begin_batch(std::span<const std::uint32_t> slots, StreamHandle stream);
  /** @brief After batch work on @p stream: one event marks it, every slot in flight until then. */
  Result<void> end_batch(std::span<const std::uint32_t> slots, StreamHandle stream);
  /** @brief A pinned staging buffer of @p bytes (from a pool the backend keeps). */
  Result<PinnedBuffer> staging(std::size_t bytes);
  /** @brief The slots' payloads as kernels address them. */
  [[nodiscard]] batch::SlotPayloads payloads() const noexcept {
    return {device_payload(0), layout_.stride, layout_.payload_bytes};
  }
  /** @brief gather() or scatter(): one kernel over the slots, ordered and marked as a batch. */
  Result<void> run_batch(std::span<const std::uint32_t> slots, std::byte* flat, bool to_slots,
                         StreamHandle stream);
  /** @brief Copies each item between @p flat and its slot, one cudaMemcpyAsync each (no kernels).
   */
  Result<void> copy_each(std::span<const std::uint32_t> slots, std::byte* flat, bool to_slots,
                         StreamHandle stream);

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
  /// The event a slot's work is marked by: its own, or its batch's.
  cudaEvent_t event_of(std::uint32_t slot);
  /// The slot's next work is marked by its own event again (its batch loses a user).
  void use_own_event(std::uint32_t slot) noexcept;
  /// An event no slot uses, for a batch of @p users slots: its id.
  Result<std::uint32_t> batch_event(std::uint32_t users);

  /// Events shared by the slots of one batch; back in the free list when no slot uses them.
  struct BatchEvent {
    cuda::Event event;
    std::atomic<std::uint32_t> users{0};
  };
  std::mutex batch_mutex_;
  std::deque<BatchEvent> batch_events_;
  std::vector<std::uint32_t> free_batch_events_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> slot_batch_;  ///< 0: own event; else batch id + 1
  std::once_flag staging_once_;
  std::optional<PinnedBufferPool> staging_;
  unsigned event_flags_;
  bool borrowed_;
};

/// The three classes (each in its own file).
std::unique_ptr<CudaBackend> make_cuda_pinned(const BackendSpec& spec);
std::unique_ptr<CudaBackend> make_cuda_device(const BackendSpec& spec);
std::unique_ptr<CudaBackend> make_cuda_managed(const BackendSpec& spec);

}  // namespace limen::detail
