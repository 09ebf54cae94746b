// SPDX-License-Identifier: Apache-2.0
// Managed memory: one managed block. Host access orders the copy stream after
// the slot's leased work, prefetches the slot to the host there and waits for
// that once; a lease prefetches it to the device on the lease's stream.
//
// Prefetches move whole pages, so slots that share a page migrate together: a
// host read of one slot pulls its page-mates back from the device too. Give
// payloads of a page or more, or use the device class, when neighbouring slots
// are used on both sides at once.
#include "slot_backend.hpp"

namespace limen::detail {
namespace {

class ManagedBackend final : public SlotBackend {
 public:
  ManagedBackend(const BackendSpec& spec, device::Api& api) : SlotBackend(spec, api) {}

  Result<void> prepare_host_access(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    LIMEN_ON_DEVICE();
    if (auto ordered = order_copies_after_leases(slot); !ordered) return ordered;
    {
      auto range = nvtx().range(nvtx::Op::Prefetch);
      LIMEN_DEVICE_TRY("cudaMemPrefetchAsync",
                       api_.prefetch_to_host_async(host_slot(slot), layout_.stride, copy_stream()));
    }
    return finish_host_access(slot);
  }

  Result<void> commit_host_write(std::uint32_t) override {
    if (lost()) return MemoryError::DeviceError;
    return {};  // the host wrote the managed bytes themselves
  }

  Result<void> prepare_device_use(std::uint32_t slot, StreamHandle stream) override {
    if (auto ordered = SlotBackend::prepare_device_use(slot, stream); !ordered) return ordered;
    LIMEN_ON_DEVICE();
    LIMEN_DEVICE_TRY("cudaMemPrefetchAsync",
                     api_.prefetch_to_device_async(host_slot(slot), layout_.stride, ordinal_,
                                                   stream.native()));
    return {};
  }

 private:
  Result<void> allocate() override {
    const std::size_t bytes = Allocation::padded(slot_bytes(), layout_.alignment);
    void* raw = nullptr;
    LIMEN_DEVICE_TRY("cudaMallocManaged", api_.malloc_managed(&raw, bytes));
    slots_ = Allocation(api_, raw, layout_.alignment, Memory::Managed, nullptr);
    host_base_ = device_base_ = slots_.base();
    return {};
  }
};

}  // namespace

std::unique_ptr<SlotBackend> make_managed_backend(const BackendSpec& spec, device::Api& api) {
  return std::make_unique<ManagedBackend>(spec, api);
}

}  // namespace limen::detail
