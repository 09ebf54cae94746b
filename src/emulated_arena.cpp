// The CPU fallback arena: pinned, device and shared memory emulated on the host.
// Device memory is a separate host block reached only through copies, so every
// guard path (shadow fill, write-back, counters, failures) runs as on a GPU.
#include "arenas.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace limen::detail {
namespace {

using fault_injection::FaultKind;

struct FreeDeleter {
  void operator()(std::byte* p) const noexcept { std::free(p); }
};
using Block = std::unique_ptr<std::byte, FreeDeleter>;

/// Zeroed host memory aligned to @p alignment (a power of two, at least 64).
Block allocate_block(std::size_t bytes, std::size_t alignment) {
  const std::size_t rounded = bytes == 0 ? alignment : (bytes + alignment - 1) / alignment * alignment;
  if (rounded < bytes) return nullptr;  // rounding wrapped around
  auto* p = static_cast<std::byte*>(std::aligned_alloc(alignment, rounded));
  if (p != nullptr) std::memset(p, 0, rounded);
  return Block(p);
}

DeviceErrorInfo injected(const char* call, FaultKind kind) {
  static constexpr const char* kinds[] = {"allocation", "copy", "synchronize", "event record",
                                          "event query"};
  DeviceErrorInfo info;
  info.code = 999;  // cudaErrorUnknown
  info.name = "cudaErrorUnknown";
  info.text = std::string("injected ") + kinds[static_cast<int>(kind)] + " fault (CPU fallback)";
  info.call = call;
  info.where = "emulated_arena.cpp";
  return info;
}

class EmulatedArena final : public Arena {
 public:
  EmulatedArena(const ArenaSpec& spec, StreamHandle stream)
      : Arena(true),
        kind_(spec.kind),
        capacity_(spec.capacity),
        events_(std::make_unique<std::atomic<std::uint64_t>[]>(spec.capacity)) {
    stream_ = stream;  // reported back as given; emulated work never runs on it
    const std::size_t bytes = spec.capacity * spec.stride;  // checked by make_arena
    slots_ = allocate_block(bytes, spec.alignment);
    if (kind_ == MemoryKind::Device) shadow_ = allocate_block(bytes, spec.alignment);
    device_base_ = slots_.get();
    host_base_ = kind_ == MemoryKind::Device ? shadow_.get() : slots_.get();
  }

  /// Device work recorded on the slots may still "run": wait for it before the
  /// memory goes, exactly as the GPU arena must.
  ~EmulatedArena() override {
    if (!events_) return;
    for (std::size_t i = 0; i < capacity_; ++i) {
      wait_emulated_event(events_[i].load(std::memory_order_acquire));
    }
  }

  [[nodiscard]] bool allocated() const noexcept {
    return slots_ != nullptr && (kind_ != MemoryKind::Device || shadow_ != nullptr);
  }

  Result<void> copy_to_host(std::size_t offset, std::size_t bytes) override {
    return copy(host_base_ + offset, device_base_ + offset, bytes, "cudaMemcpyAsync(DtoH)");
  }

  Result<void> copy_to_device(std::size_t offset, std::size_t bytes) override {
    return copy(device_base_ + offset, host_base_ + offset, bytes, "cudaMemcpyAsync(HtoD)");
  }

  Result<void> prefetch_to_host(std::size_t, std::size_t) override {
    if (take_fault(FaultKind::Copy)) return fail(injected("cudaMemPrefetchAsync", FaultKind::Copy));
    return synchronize();
  }

  Result<void> record_event(std::uint32_t slot, StreamHandle) override {
    if (take_fault(FaultKind::EventRecord)) {
      return fail(injected("cudaEventRecord", FaultKind::EventRecord));
    }
    events_[slot].store(emulated_event_target(), std::memory_order_release);
    return {};
  }

  Result<bool> event_done(std::uint32_t slot) override {
    if (take_fault(FaultKind::EventQuery)) {
      return fail(injected("cudaEventQuery", FaultKind::EventQuery));
    }
    return emulated_event_complete(events_[slot].load(std::memory_order_acquire));
  }

  Result<void> wait_event(std::uint32_t slot) override {
    if (take_fault(FaultKind::Synchronize)) {
      return fail(injected("cudaEventSynchronize", FaultKind::Synchronize));
    }
    wait_emulated_event(events_[slot].load(std::memory_order_acquire));
    return {};
  }

  Result<void> stream_wait_event(std::uint32_t slot, StreamHandle) override {
    // An emulated stream runs its work at once, so "later work" starts after
    // the event only if the host waits for it here.
    wait_emulated_event(events_[slot].load(std::memory_order_acquire));
    return {};
  }

  Result<void> synchronize(StreamHandle) override { return synchronize(); }

  Result<void> prefetch_to_device(std::size_t, std::size_t, StreamHandle) override { return {}; }

 private:
  Result<void> copy(std::byte* to, const std::byte* from, std::size_t bytes, const char* call) {
    if (take_fault(FaultKind::Copy)) return fail(injected(call, FaultKind::Copy));
    std::memcpy(to, from, bytes);
    return synchronize();
  }

  Result<void> synchronize() {
    if (take_fault(FaultKind::Synchronize)) {
      return fail(injected("cudaStreamSynchronize", FaultKind::Synchronize));
    }
    return {};
  }

  MemoryKind kind_;
  std::size_t capacity_;
  Block slots_;
  Block shadow_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> events_;
};

}  // namespace

ArenaOrError make_emulated_arena(const ArenaSpec& spec) {
  ArenaOrError out;
  if (take_fault(FaultKind::Allocation)) {
    out.error = MemoryError::DeviceError;
    out.why = "injected allocation fault (CPU fallback)";
    return out;
  }
  auto arena =
      std::make_unique<EmulatedArena>(spec, spec.config.stream.value_or(StreamHandle{}));
  if (!arena->allocated()) {
    out.error = MemoryError::DeviceError;
    out.why = "host allocation of the emulated arena failed (" +
              std::to_string(spec.capacity * spec.stride) + " bytes)";
    return out;
  }
  out.arena = std::move(arena);
  return out;
}

}  // namespace limen::detail
