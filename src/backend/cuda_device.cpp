// SPDX-License-Identifier: Apache-2.0
// Device memory on the GPU: slots in one block from a memory pool on the
// device (or one cudaMalloc where pools are unsupported), and a pinned host
// shadow the host works on. Host access copies the payload into the shadow
// and waits for that copy; a host write copies it back and records the slot's
// event without waiting: a store+read round trip costs one host wait.
//
// The shadow covers every slot (as large as the device block): each slot's
// shadow holds the source of its in-flight upload until the event says it is
// done, and concurrent readers of a slot share one fill. Shadows sized to the
// live guards would need a shadow allocator on the hot path.
#include "cuda_backend.hpp"

#include "backends.hpp"

#include <cstring>
#include <limits>

namespace limen::detail {
namespace {

class CudaDevice final : public CudaBackend {
 public:
  explicit CudaDevice(const BackendSpec& spec) : CudaBackend(spec) {}

  Result<void> prepare_host_access(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    if (auto waited = wait_for_lease_work(slot); !waited) return waited;
    const std::uint32_t epoch = work_epoch(slot);
    {
      auto range = nvtx().range(nvtx::Op::CopyToHost);
      LIMEN_CUDA_ON_DEVICE();
      // Queued behind the slot's own upload, if any: the copy stream keeps order.
      LIMEN_CUDA_TRY(cudaMemcpyAsync(host_slot(slot) + layout_.payload_offset, device_payload(slot),
                                     layout_.payload_bytes, cudaMemcpyDeviceToHost, copy_stream()));
      count_to_host(layout_.payload_bytes);
      if (auto synced = sync_copies(); !synced) return synced;
    }
    retire_work(slot, epoch);  // the copy stream finished the slot's own upload too
    return {};
  }

  Result<void> commit_host_write(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    auto range = nvtx().range(nvtx::Op::CopyToDevice);
    LIMEN_CUDA_ON_DEVICE();
    LIMEN_CUDA_TRY(cudaMemcpyAsync(device_payload(slot), host_slot(slot) + layout_.payload_offset,
                                   layout_.payload_bytes, cudaMemcpyHostToDevice, copy_stream()));
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
    auto uploaded = memory_pools_ ? upload_and_scatter(slots, *buffer, index_offset, total, stream)
                                  : copy_each(slots, packed, /*to_slots=*/true, stream);
    buffer->reset(stream);  // back to its pool once the copy that reads it is done
    if (!uploaded) return uploaded;
    return end_batch(slots, stream);
  }

 private:
  /// One host-to-device copy into scratch from the pool, one scatter kernel, scratch freed
  /// stream-ordered. Without nvcc, one copy per slot instead of the kernel.
  Result<void> upload_and_scatter(std::span<const std::uint32_t> slots, const PinnedBuffer& buffer,
                                  std::size_t index_offset, std::size_t total,
                                  StreamHandle stream) {
#if LIMEN_HAVE_CUDA_KERNELS
    LIMEN_CUDA_ON_DEVICE();
    void* scratch = nullptr;
    LIMEN_CUDA_TRY(cudaMallocFromPoolAsync(&scratch, total, pool_.get(), stream.native()));
    auto* device = static_cast<std::byte*>(scratch);
    cudaError_t status =
        cudaMemcpyAsync(device, buffer.data(), total, cudaMemcpyHostToDevice, stream.native());
    if (status == cudaSuccess) {
      status = static_cast<cudaError_t>(batch::device_scatter(
          device, reinterpret_cast<const std::uint32_t*>(device + index_offset), slots.size(),
          payloads(), stream.native(), pool_.get()));
    }
    cuda::quietly(cudaFreeAsync(scratch, stream.native()));
    if (status != cudaSuccess) {
      return failed(status, "cudaMemcpyAsync(HtoD) + batch scatter", __FILE__, __LINE__);
    }
    return {};
#else
    (void)index_offset;
    (void)total;
    return copy_each(slots, buffer.data(), /*to_slots=*/true, stream);
#endif
  }

  Result<void> allocate() override {
    const std::size_t bytes = cuda::Allocation::padded(slot_bytes(), layout_.alignment);
    void* raw = nullptr;
    if (memory_pools_) {
      if (auto pooled = make_pool(); !pooled) return pooled;
      LIMEN_CUDA_TRY(cudaMallocFromPoolAsync(&raw, bytes, pool_.get(), copy_stream()));
      slots_ = cuda::Allocation(raw, layout_.alignment, cuda::Memory::PoolDevice, copy_stream());
    } else {
      // No stream-ordered allocator on this device: one plain allocation.
      LIMEN_CUDA_TRY(cudaMalloc(&raw, bytes));
      slots_ = cuda::Allocation(raw, layout_.alignment, cuda::Memory::Device, nullptr);
    }
    device_base_ = slots_.base();
    LIMEN_CUDA_TRY(cudaMemsetAsync(raw, 0, bytes, copy_stream()));
    LIMEN_CUDA_TRY(cudaStreamSynchronize(copy_stream()));
    LIMEN_CUDA_TRY(cudaHostAlloc(&raw, bytes, cudaHostAllocPortable));
    shadow_ = cuda::Allocation(raw, layout_.alignment, cuda::Memory::PinnedHost, nullptr);
    host_base_ = shadow_.base();
    return {};
  }

  /// A pool on the device whose release threshold never trims.
  Result<void> make_pool() {
    if (pools_disabled_for_tests()) {
      memory_pools_ = false;
      return {};
    }
    cudaMemPoolProps props{};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = ordinal_;
    cudaMemPool_t pool = nullptr;
    LIMEN_CUDA_TRY(cudaMemPoolCreate(&pool, &props));
    pool_ = cuda::MemPool(pool);
    std::uint64_t keep_everything = std::numeric_limits<std::uint64_t>::max();
    LIMEN_CUDA_TRY(
        cudaMemPoolSetAttribute(pool_.get(), cudaMemPoolAttrReleaseThreshold, &keep_everything));
    return {};
  }
};

}  // namespace

std::unique_ptr<CudaBackend> make_cuda_device(const BackendSpec& spec) {
  return std::make_unique<CudaDevice>(spec);
}

}  // namespace limen::detail
