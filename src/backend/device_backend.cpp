// SPDX-License-Identifier: Apache-2.0
// Device memory: slots in one block from a memory pool on the device (or one
// plain allocation where pools are unsupported), and a pinned host shadow the
// host works on. Host access orders the copy stream after the slot's leased
// work, copies the payload into the shadow and waits for that copy once; a
// host write copies it back and records the slot's event without waiting: a
// store + read round trip costs one host wait.
//
// The shadow covers every slot (as large as the device block): each slot's
// shadow holds the source of its in-flight upload until the event says it is
// done, and concurrent readers of a slot share one fill. Shadows sized to the
// live guards would need a shadow allocator on the hot path.
#include "slot_backend.hpp"

#include <cstring>
#include <vector>

namespace limen::detail {
namespace {

class DeviceBackend final : public SlotBackend {
 public:
  DeviceBackend(const BackendSpec& spec, device::Api& api) : SlotBackend(spec, api) {
    for (const unsigned peer : spec.config.peer_access) {
      if (peer != spec.config.device) peers_.push_back(static_cast<int>(peer));
    }
  }

  Result<void> prepare_host_access(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    LIMEN_ON_DEVICE();
    if (auto ordered = order_copies_after_leases(slot); !ordered) return ordered;
    {
      auto range = nvtx().range(nvtx::Op::CopyToHost);
      LIMEN_DEVICE_TRY("cudaMemcpyAsync(DtoH)",
                       api_.memcpy_async(host_slot(slot) + layout_.payload_offset,
                                         device_payload(slot), layout_.payload_bytes,
                                         device::CopyKind::DeviceToHost, copy_stream()));
      count_to_host(layout_.payload_bytes);
    }
    return finish_host_access(slot);
  }

  Result<void> commit_host_write(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    auto range = nvtx().range(nvtx::Op::CopyToDevice);
    LIMEN_ON_DEVICE();
    LIMEN_DEVICE_TRY("cudaMemcpyAsync(HtoD)",
                     api_.memcpy_async(device_payload(slot),
                                       host_slot(slot) + layout_.payload_offset,
                                       layout_.payload_bytes, device::CopyKind::HostToDevice,
                                       copy_stream()));
    count_to_device(layout_.payload_bytes);
    return record_copy(slot);
  }

  /// Packs the payloads (and slot indices) into one pinned staging buffer, copies it to
  /// the device in one transfer and scatters it into the slots with one kernel.
  Result<void> upload_batch(std::span<const std::uint32_t> slots, const std::byte* messages,
                            std::size_t message_stride, StreamHandle stream) override {
    if (auto ready = begin_batch({}, stream); !ready) return ready;
    auto range = nvtx().range(nvtx::Op::Batch);
    const std::size_t bytes = layout_.payload_bytes;
    const std::size_t payload_total = slots.size() * bytes;
    const std::size_t index_offset = (payload_total + 15) / 16 * 16;
    const std::size_t total = index_offset + slots.size() * sizeof(std::uint32_t);
    auto buffer = staging(total);
    if (!buffer) return buffer.error();
    std::byte* packed = buffer->data();
    for (std::size_t i = 0; i < slots.size(); ++i) {
      std::memcpy(packed + i * bytes, messages + i * message_stride + layout_.payload_offset,
                  bytes);
    }
    std::memcpy(packed + index_offset, slots.data(), slots.size() * sizeof(std::uint32_t));
    count_to_device(payload_total);
    auto uploaded = memory_pools_ && api_.has_batch_kernels()
                        ? upload_and_scatter(slots, *buffer, index_offset, total, stream)
                        : copy_each(slots, packed, /*to_slots=*/true, stream);
    buffer->reset(stream);  // back to its pool once the copy that reads it is done
    if (!uploaded) return uploaded;
    return end_batch(slots, stream);
  }

 private:
  /// One host-to-device copy into scratch from the pool, one scatter kernel, the
  /// scratch freed stream-ordered.
  Result<void> upload_and_scatter(std::span<const std::uint32_t> slots, const PinnedBuffer& buffer,
                                  std::size_t index_offset, std::size_t total,
                                  StreamHandle stream) {
    LIMEN_ON_DEVICE();
    void* scratch = nullptr;
    LIMEN_DEVICE_TRY("cudaMallocFromPoolAsync",
                     api_.malloc_from_pool_async(&scratch, total, pool_.get(), stream.native()));
    auto* device = static_cast<std::byte*>(scratch);
    device::Status status = api_.memcpy_async(device, buffer.data(), total,
                                              device::CopyKind::HostToDevice, stream.native());
    const char* call = "cudaMemcpyAsync(HtoD)";
    if (status == device::status::success) {
      status = api_.batch_copy(true, device, reinterpret_cast<const std::uint32_t*>(device + index_offset),
                               slots.size(), payloads(), stream.native());
      call = "batch scatter kernel";
    }
    quietly(api_, api_.free_async(scratch, stream.native()));
    if (status != device::status::success) return failed(status, call, __FILE__, __LINE__);
    return {};
  }

  /// cudaDeviceEnablePeerAccess on each peer, towards this device (already enabled is fine).
  Result<void> enable_peer_access() {
    for (const int peer : peers_) {
      const DeviceScope on_peer(api_, peer);
      if (on_peer.status() != device::status::success) {
        return failed(on_peer.status(), "cudaSetDevice", __FILE__, __LINE__);
      }
      const device::Status status = api_.enable_peer_access(ordinal_);
      if (status == device::status::peer_access_already_enabled) {
        forget(api_, status);
      } else if (status != device::status::success) {
        return failed(status, "cudaDeviceEnablePeerAccess", __FILE__, __LINE__);
      }
    }
    return {};
  }

  Result<void> allocate() override {
    const std::size_t bytes = Allocation::padded(slot_bytes(), layout_.alignment);
    void* raw = nullptr;
    if (memory_pools_) {
      device::Pool pool = nullptr;
      LIMEN_DEVICE_TRY("cudaMemPoolCreate", api_.pool_create(&pool, ordinal_));
      pool_ = OwnedPool(api_, pool);
      LIMEN_DEVICE_TRY("cudaMemPoolSetAttribute", api_.pool_keep_all(pool));
      for (const int peer : peers_) {
        LIMEN_DEVICE_TRY("cudaMemPoolSetAccess", api_.pool_set_access(pool, peer));
      }
      LIMEN_DEVICE_TRY("cudaMallocFromPoolAsync",
                       api_.malloc_from_pool_async(&raw, bytes, pool, copy_stream()));
      slots_ = Allocation(api_, raw, layout_.alignment, Memory::PoolDevice, copy_stream());
    } else {
      // No stream-ordered allocator on this device: one plain allocation, which
      // peers reach once they enable peer access to this device.
      if (auto enabled = enable_peer_access(); !enabled) return enabled;
      LIMEN_DEVICE_TRY("cudaMalloc", api_.malloc(&raw, bytes));
      slots_ = Allocation(api_, raw, layout_.alignment, Memory::Device, nullptr);
    }
    device_base_ = slots_.base();
    LIMEN_DEVICE_TRY("cudaMemsetAsync", api_.memset_async(raw, 0, bytes, copy_stream()));
    // Leases and batches on other streams may touch fresh slots: the zeroes land first.
    if (auto waited = wait_stream(copy_stream(), /*counted=*/false); !waited) return waited;
    LIMEN_DEVICE_TRY("cudaHostAlloc", api_.host_alloc(&raw, bytes, device::host_alloc_portable));
    shadow_ = Allocation(api_, raw, layout_.alignment, Memory::PinnedHost, nullptr);
    host_base_ = shadow_.base();
    return {};
  }

  std::vector<int> peers_;  ///< ManagerConfig::peer_access, less this device
};

}  // namespace

std::unique_ptr<SlotBackend> make_device_backend(const BackendSpec& spec, device::Api& api) {
  return std::make_unique<DeviceBackend>(spec, api);
}

}  // namespace limen::detail
