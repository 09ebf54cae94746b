// SPDX-License-Identifier: Apache-2.0
// The backends' batches (see slot_backend.hpp): ordering a batch after each
// slot's earlier work, one event for the whole batch, the gather/scatter
// kernel, and the pinned staging buffers they read their indices from.
#include "slot_backend.hpp"

#include <cstring>

namespace limen::detail {

Result<void> SlotBackend::begin_batch(std::span<const std::uint32_t> slots, StreamHandle stream) {
  if (lost()) return MemoryError::DeviceError;
  LIMEN_ON_DEVICE();
  if (auto refused = refuse_capture(stream); !refused) return refused;
  device::Event waited = nullptr;  // slots of one earlier batch share an event: wait once
  for (std::uint32_t slot : slots) {
    if (work_epoch(slot) == 0) continue;
    device::Event event = event_of(slot);
    if (event == waited) continue;
    LIMEN_DEVICE_TRY("cudaStreamWaitEvent", api_.stream_wait_event(stream.native(), event));
    waited = event;
  }
  return {};
}

Result<void> SlotBackend::end_batch(std::span<const std::uint32_t> slots, StreamHandle stream) {
  LIMEN_ON_DEVICE();
  auto id = batch_event(static_cast<std::uint32_t>(slots.size()));
  if (id) {
    device::Event event = nullptr;
    {
      std::lock_guard lock(batch_mutex_);
      event = batch_events_[*id].event.get();
    }
    const device::Status recorded = api_.event_record(event, stream.native());
    if (recorded == device::status::success) {
      for (std::uint32_t slot : slots) {
        use_own_event(slot);
        slot_batch_[slot].store(*id + 1, std::memory_order_release);
        mark_work(slot, /*foreign=*/true);
      }
      return {};
    }
    drop_batch_event(*id);
    failed(recorded, "cudaEventRecord", __FILE__, __LINE__);
  }
  // Waiting for the whole stream is the safe substitute for the batch's event.
  // If even that fails, the batch's work is queued but cannot be ordered.
  if (auto waited = wait_stream(stream.native()); !waited) return MemoryError::Poisoned;
  for (std::uint32_t slot : slots) retire_work(slot, work_epoch(slot));
  return {};
}

Result<PinnedBuffer> SlotBackend::staging(std::size_t bytes) {
  try {
    std::call_once(staging_once_, [this] {
      PoolConfig config;
      config.device = static_cast<unsigned>(ordinal_);
      config.name = "limen-staging";
      staging_.emplace(std::move(config));
    });
  } catch (const MemoryErrorException& e) {
    return e.error();
  }
  if (!staging_) return MemoryError::DeviceError;
  return staging_->allocate(bytes);
}

Result<void> SlotBackend::copy_each(std::span<const std::uint32_t> slots, std::byte* flat,
                                    bool to_slots, StreamHandle stream) {
  LIMEN_ON_DEVICE();  // the null stream is the current device's legacy stream
  const std::size_t bytes = layout_.payload_bytes;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    std::byte* slot = device_payload(slots[i]);
    std::byte* item = flat + i * bytes;
    const device::Status copied =
        api_.memcpy_async(to_slots ? slot : item, to_slots ? item : slot, bytes,
                          device::CopyKind::Default, stream.native());
    if (copied == device::status::success) continue;
    failed(copied, "cudaMemcpyAsync", __FILE__, __LINE__);
    // The copies queued before this one still run: wait for them, or the
    // slots (or the caller's array) are in an unknown state.
    if (i > 0 && !wait_stream(stream.native())) return MemoryError::Poisoned;
    return MemoryError::DeviceError;
  }
  return {};
}

Result<void> SlotBackend::upload_batch(std::span<const std::uint32_t> slots,
                                       const std::byte* messages, std::size_t message_stride,
                                       StreamHandle stream) {
  if (lost()) return MemoryError::DeviceError;
  LIMEN_ON_DEVICE();
  if (auto refused = refuse_capture(stream); !refused) return refused;
  write_payloads(slots, messages, message_stride);
  return {};
}

Result<void> SlotBackend::gather(std::span<const std::uint32_t> slots, std::byte* out,
                                 StreamHandle stream) {
  return run_batch(slots, out, /*to_slots=*/false, stream);
}

Result<void> SlotBackend::scatter(const std::byte* in, std::span<const std::uint32_t> slots,
                                  StreamHandle stream) {
  return run_batch(slots, const_cast<std::byte*>(in), /*to_slots=*/true, stream);
}

Result<void> SlotBackend::run_batch(std::span<const std::uint32_t> slots, std::byte* flat,
                                    bool to_slots, StreamHandle stream) {
  if (auto ready = begin_batch(slots, stream); !ready) return ready;
  auto range = nvtx().range(nvtx::Op::Batch);
  if (api_.has_batch_kernels()) {
    // One kernel; it reads the slot indices through the staging buffer's mapped pointer.
    auto indices = staging(slots.size() * sizeof(std::uint32_t));
    if (!indices) return indices.error();
    std::memcpy(indices->data(), slots.data(), slots.size() * sizeof(std::uint32_t));
    const auto* device_indices = static_cast<const std::uint32_t*>(indices->device_ptr());
    LIMEN_ON_DEVICE();
    const device::Status launched = api_.batch_copy(to_slots, flat, device_indices, slots.size(),
                                                    payloads(), stream.native());
    indices->reset(stream);  // back to the pool once the kernel has read it
    if (launched != device::status::success) {
      return failed(launched, to_slots ? "batch scatter kernel" : "batch gather kernel", __FILE__,
                    __LINE__);
    }
  } else if (auto copied = copy_each(slots, flat, to_slots, stream); !copied) {
    return copied;
  }
  return end_batch(slots, stream);
}

}  // namespace limen::detail
