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

 private:
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
