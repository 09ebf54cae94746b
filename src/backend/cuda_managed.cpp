// SPDX-License-Identifier: Apache-2.0
// Managed memory on the GPU: one cudaMallocManaged block. Host access waits
// for leased work, then prefetches the slot to the host on the copy stream and
// waits for that; a lease prefetches it to the device on the lease's stream.
//
// Prefetches move whole pages, so slots that share a page migrate together: a
// host read of one slot pulls its page-mates back from the device too. Give
// payloads of a page or more, or use the device class, when neighbouring slots
// are used on both sides at once.
#include "cuda_backend.hpp"

namespace limen::detail {
namespace {

class CudaManaged final : public CudaBackend {
 public:
  explicit CudaManaged(const BackendSpec& spec) : CudaBackend(spec) {}

  Result<void> prepare_host_access(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    if (auto waited = wait_for_lease_work(slot); !waited) return waited;
    auto range = nvtx().range(nvtx::Op::Prefetch);
    LIMEN_CUDA_ON_DEVICE();
    if (!concurrent_managed_access_) {
      // Without concurrent managed access the host may touch managed memory
      // only while the device is idle.
      LIMEN_CUDA_TRY(cudaDeviceSynchronize());
      count_sync();
      return {};
    }
    cudaMemLocation host{};
    host.type = cudaMemLocationTypeHost;
    LIMEN_CUDA_TRY(cudaMemPrefetchAsync(host_slot(slot), layout_.stride, host, 0, copy_stream()));
    return sync_copies();
  }

  Result<void> commit_host_write(std::uint32_t) override {
    if (lost()) return MemoryError::DeviceError;
    return {};  // the host wrote the managed bytes themselves
  }

  Result<void> prepare_device_use(std::uint32_t slot, StreamHandle stream) override {
    if (auto ordered = CudaBackend::prepare_device_use(slot, stream); !ordered) return ordered;
    if (!concurrent_managed_access_) return {};
    LIMEN_CUDA_ON_DEVICE();
    cudaMemLocation device{};
    device.type = cudaMemLocationTypeDevice;
    device.id = ordinal_;
    LIMEN_CUDA_TRY(
        cudaMemPrefetchAsync(host_slot(slot), layout_.stride, device, 0, stream.native()));
    return {};
  }

 private:
  Result<void> allocate() override {
    const std::size_t bytes = cuda::Allocation::padded(slot_bytes(), layout_.alignment);
    void* raw = nullptr;
    LIMEN_CUDA_TRY(cudaMallocManaged(&raw, bytes, cudaMemAttachGlobal));
    slots_ = cuda::Allocation(raw, layout_.alignment, cuda::Memory::Managed, nullptr);
    host_base_ = device_base_ = slots_.base();
    return {};
  }
};

}  // namespace

std::unique_ptr<CudaBackend> make_cuda_managed(const BackendSpec& spec) {
  return std::make_unique<CudaManaged>(spec);
}

}  // namespace limen::detail
