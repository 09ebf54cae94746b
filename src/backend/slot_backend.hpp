// SPDX-License-Identifier: Apache-2.0
// What the pinned, device and managed backends share, written once over the
// device seam (it runs on a GPU and on the CPU device alike): the device, the
// streams, one event per slot, error handling, and the ordering of leases,
// batches and host waits.
//
// Streams: guard copies and prefetches run on a private non-blocking copy
// stream, so host access to one slot never queues behind kernels on others,
// and a borrowed stream is only ever used for the leases and batches the
// caller asks for; teardown never touches it. Events: one per slot, recorded
// where the slot's last work was queued; the copy stream is ordered after a
// slot's lease or batch by its event (no host wait), and every host wait is
// on an event, so HostWait::Block holds for each of them.
#pragma once

#include "device_handles.hpp"

#include <limen/detail/backend.hpp>
#include <limen/pinned_buffer_pool.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace limen::detail {

/// Runs a device call inside a SlotBackend member; on failure records it and
/// returns DeviceError from the caller. @p name is the CUDA call it stands for.
#define LIMEN_DEVICE_TRY(name, call)                                      \
  do {                                                                    \
    const ::limen::detail::device::Status limen_status_ = (call);         \
    if (limen_status_ != ::limen::detail::device::status::success) {      \
      return this->failed(limen_status_, name, __FILE__, __LINE__);       \
    }                                                                     \
  } while (0)

/// Makes the backend's device current for the rest of the scope, or returns DeviceError.
#define LIMEN_ON_DEVICE()                                                              \
  const ::limen::detail::DeviceScope limen_scope_(this->api_, this->ordinal_,         \
                                                  this->only_device_);                \
  if (limen_scope_.status() != ::limen::detail::device::status::success) {             \
    return this->failed(limen_scope_.status(), "cudaSetDevice", __FILE__, __LINE__);   \
  }

class SlotBackend : public Backend {
 public:
  ~SlotBackend() override;

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

  /** @brief Creates the streams and events, then the subclass's memory; an error: see last_error(). */
  Result<void> init();

 protected:
  SlotBackend(const BackendSpec& spec, device::Api& api);

  /** @brief Allocates the class's memory (after streams and events exist). */
  virtual Result<void> allocate() = 0;

  /** @brief Keeps the failed call for last_error(); a sticky error marks the device lost. */
  MemoryError failed(device::Status status, const char* call, const char* file, int line);

  /** @brief Orders the copy stream after a lease's or batch's work on @p slot (no host wait). */
  Result<void> order_copies_after_leases(std::uint32_t slot);
  /**
   * @brief Marks what was just queued on the copy stream as slot @p slot's
   * work, waits for it on the host (blocking on the slot's event) and retires it.
   */
  Result<void> finish_host_access(std::uint32_t slot);
  /** @brief Marks the copy just queued for @p slot as its work; the host does not wait. */
  Result<void> record_copy(std::uint32_t slot);
  /**
   * @brief Waits on the host for what is queued on @p stream so far, through
   * an event; counted as a synchronization unless @p counted is false.
   */
  Result<void> wait_stream(device::Stream stream, bool counted = true);

  /** @brief Before batch work on @p stream: refused while capturing; each slot's earlier work first. */
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
  /** @brief Copies each item between @p flat and its slot, one async copy each (no kernel). */
  Result<void> copy_each(std::span<const std::uint32_t> slots, std::byte* flat, bool to_slots,
                         StreamHandle stream);
  /** @brief Unsupported while @p stream is being captured into a graph. */
  Result<void> refuse_capture(StreamHandle stream);

  [[nodiscard]] device::Stream copy_stream() const noexcept { return copy_stream_.get(); }
  [[nodiscard]] std::size_t slot_bytes() const noexcept {
    return layout_.capacity * layout_.stride;  // checked by make_backend
  }

  device::Api& api_;
  int ordinal_;
  bool only_device_ = false;  ///< the process has one device: no device switching needed
  bool concurrent_managed_access_ = false;
  bool memory_pools_ = false;
  unsigned event_flags_;
  // Declared in teardown order, last first: memory goes before the pool that
  // served it, events and streams last.
  OwnedStream copy_stream_;
  OwnedStream owned_stream_;
  std::vector<OwnedEvent> events_;
  OwnedPool pool_;
  Allocation slots_;
  Allocation shadow_;

 private:
  /// The event a slot's work is marked by: its own, or its batch's.
  device::Event event_of(std::uint32_t slot);
  /// The slot's next work is marked by its own event again (its batch loses a user).
  void use_own_event(std::uint32_t slot) noexcept;
  /// An event no slot uses, for a batch of @p users slots: its id.
  Result<std::uint32_t> batch_event(std::uint32_t users);
  /// Gives batch event @p id back unused.
  void drop_batch_event(std::uint32_t id) noexcept;

  /// Events shared by the slots of one batch; back in the free list when no slot uses them.
  struct BatchEvent {
    OwnedEvent event;
    std::atomic<std::uint32_t> users{0};
  };
  std::mutex batch_mutex_;
  std::deque<BatchEvent> batch_events_;
  std::vector<std::uint32_t> free_batch_events_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> slot_batch_;  ///< 0: own event; else batch id + 1
  std::mutex spare_mutex_;
  OwnedEvent spare_event_;  ///< waits for a whole stream when a slot's event cannot be recorded
  std::once_flag staging_once_;
  std::optional<PinnedBufferPool> staging_;
  bool borrowed_;
};

}  // namespace limen::detail
