// SPDX-License-Identifier: Apache-2.0
// Pinned memory: page-locked, mapped host slots. The host and kernels share
// the bytes, so host access only waits for leased work, and a host write is
// visible to later kernels as it is.
#include "slot_backend.hpp"

namespace limen::detail {
namespace {

class PinnedBackend final : public SlotBackend {
 public:
  PinnedBackend(const BackendSpec& spec, device::Api& api) : SlotBackend(spec, api) {}

  Result<void> prepare_host_access(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    if (!foreign_work(slot)) return {};
    const std::uint32_t epoch = work_epoch(slot);
    if (auto waited = wait_work(slot); !waited) return waited;
    if (lost()) return MemoryError::DeviceError;
    retire_work(slot, epoch);
    return {};
  }

  Result<void> commit_host_write(std::uint32_t) override {
    if (lost()) return MemoryError::DeviceError;
    return {};  // kernels read the same bytes through the mapped pointer
  }

 private:
  Result<void> allocate() override {
    const std::size_t bytes = Allocation::padded(slot_bytes(), layout_.alignment);
    void* raw = nullptr;
    LIMEN_DEVICE_TRY("cudaHostAlloc",
                     api_.host_alloc(&raw, bytes,
                                     device::host_alloc_mapped | device::host_alloc_portable));
    slots_ = Allocation(api_, raw, layout_.alignment, Memory::PinnedHost, nullptr);
    host_base_ = slots_.base();
    void* mapped = nullptr;
    LIMEN_DEVICE_TRY("cudaHostGetDevicePointer", api_.host_get_device_pointer(&mapped, host_base_));
    device_base_ = static_cast<std::byte*>(mapped);
    return {};
  }
};

}  // namespace

std::unique_ptr<SlotBackend> make_pinned_backend(const BackendSpec& spec, device::Api& api) {
  return std::make_unique<PinnedBackend>(spec, api);
}

}  // namespace limen::detail
