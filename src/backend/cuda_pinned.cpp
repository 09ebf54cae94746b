// SPDX-License-Identifier: Apache-2.0
// Pinned memory on the GPU: page-locked, mapped host slots. The host and
// kernels share the bytes, so host access only waits for leased work.
#include "cuda_backend.hpp"

namespace limen::detail {
namespace {

class CudaPinned final : public CudaBackend {
 public:
  explicit CudaPinned(const BackendSpec& spec) : CudaBackend(spec) {}

  Result<void> prepare_host_access(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    return wait_for_lease_work(slot);
  }

  Result<void> commit_host_write(std::uint32_t) override {
    if (lost()) return MemoryError::DeviceError;
    return {};  // kernels read the same bytes through the mapped pointer
  }

 private:
  Result<void> allocate() override {
    const std::size_t bytes = cuda::Allocation::padded(slot_bytes(), layout_.alignment);
    void* raw = nullptr;
    LIMEN_CUDA_TRY(cudaHostAlloc(&raw, bytes, cudaHostAllocMapped | cudaHostAllocPortable));
    slots_ = cuda::Allocation(raw, layout_.alignment, cuda::Memory::PinnedHost, nullptr);
    host_base_ = slots_.base();
    void* mapped = nullptr;
    LIMEN_CUDA_TRY(cudaHostGetDevicePointer(&mapped, host_base_, 0));
    device_base_ = static_cast<std::byte*>(mapped);
    return {};
  }
};

}  // namespace

std::unique_ptr<CudaBackend> make_cuda_pinned(const BackendSpec& spec) {
  return std::make_unique<CudaPinned>(spec);
}

}  // namespace limen::detail
