// SPDX-License-Identifier: Apache-2.0
// The CPU fallback: pinned, device and managed memory emulated on the host,
// with the same slot protocol as the GPU backends. Device memory is a separate
// host block reached only through copies into a shadow, so every guard path
// (shadow fill, write-back, counters, failures) runs as it would on a GPU.
// Events complete at once unless fault injection holds them "in flight".
#include "backends.hpp"
#include "batch_ops.hpp"
#include "device_errors.hpp"
#include "pool_memory.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace limen::detail {
namespace {

// --- The event clock -----------------------------------------------------------

std::atomic<bool> holding{false};
/// Events recorded while holding complete when this passes their target.
std::atomic<std::uint64_t> release_epoch{0};

std::uint64_t next_target() noexcept {
  return holding.load() ? release_epoch.load() + 1 : 0;
}
bool complete(std::uint64_t target) noexcept {
  return release_epoch.load(std::memory_order_acquire) >= target;
}
void wait_for(std::uint64_t target) noexcept {
  for (std::uint64_t now = release_epoch.load(); now < target; now = release_epoch.load()) {
    release_epoch.wait(now);
  }
}

// --- Memory --------------------------------------------------------------------

struct FreeDeleter {
  void operator()(std::byte* p) const noexcept { std::free(p); }
};
using Block = std::unique_ptr<std::byte, FreeDeleter>;

/// Zeroed host memory aligned to @p alignment (a power of two, at least 64).
Block allocate_block(std::size_t bytes, std::size_t alignment) {
  const std::size_t rounded =
      bytes == 0 ? alignment : (bytes + alignment - 1) / alignment * alignment;
  if (rounded < bytes) return nullptr;  // rounding wrapped around
  auto* p = static_cast<std::byte*>(std::aligned_alloc(alignment, rounded));
  if (p != nullptr) std::memset(p, 0, rounded);
  return Block(p);
}

constexpr const char* call_names[] = {"allocation", "copy", "synchronize", "event record",
                                      "event query"};

DeviceErrorInfo injected(const char* call, InjectedCall kind, int code) {
  DeviceErrorInfo info;
  info.code = code;
  info.name = code == 999 ? "cudaErrorUnknown" : "cudaError " + std::to_string(code);
  info.text = std::string("injected ") + call_names[static_cast<int>(kind)] +
              " fault (CPU fallback)" + (is_sticky_cuda_error(code) ? ", sticky" : "");
  info.call = call;
  info.where = "emulated.cpp";
  return info;
}

/**
 * @brief What every emulated class shares: memory, events, streams, faults.
 * The twins below add what differs per class, as the CUDA backends do.
 */
class EmulatedBackend : public Backend {
 public:
  EmulatedBackend(const BackendSpec& spec, bool with_shadow)
      : Backend(true, spec), borrowed_(spec.config.stream.has_value()) {
    const std::size_t bytes = spec.layout.capacity * spec.layout.stride;  // checked by the caller
    slots_ = allocate_block(bytes, spec.layout.alignment);
    if (with_shadow && slots_) shadow_ = allocate_block(bytes, spec.layout.alignment);
    device_base_ = slots_.get();
    host_base_ = with_shadow ? shadow_.get() : slots_.get();
    if (!allocated()) return;  // make_emulated_backend reports it
    track_slots();
    targets_ = std::make_unique<std::atomic<std::uint64_t>[]>(spec.layout.capacity);
    // A borrowed stream is reported back as given; otherwise a handle of our own.
    stream_ = borrowed_ ? *spec.config.stream
                        : StreamHandle(reinterpret_cast<CUstream_st*>(&own_stream_tag_));
  }

  /// Device work may still "run" on the slots: wait for it before the memory
  /// goes, exactly as a GPU backend must. Borrowed streams are never touched.
  ~EmulatedBackend() override {
    if (!targets_) return;
    for (std::size_t i = 0; i < layout_.capacity; ++i) {
      if (work_epoch(static_cast<std::uint32_t>(i)) != 0) wait_for(targets_[i].load());
    }
  }

  [[nodiscard]] bool allocated() const noexcept {
    return slots_ != nullptr && host_base_ != nullptr;
  }

  Result<void> prepare_device_use(std::uint32_t slot, StreamHandle stream) override {
    use(stream);
    if (lost()) return MemoryError::DeviceError;
    if (capture_simulated()) return MemoryError::Unsupported;
    // An emulated stream runs its work at once, so "later work" starts after
    // the slot's earlier work only if the host waits for it here.
    if (work_epoch(slot) != 0) wait_for(targets_[slot].load(std::memory_order_acquire));
    return {};
  }

  Result<void> end_device_use(std::uint32_t slot, StreamHandle stream) noexcept override {
    use(stream);
    if (lost()) return MemoryError::DeviceError;
    if (auto code = take_fault(InjectedCall::EventRecord)) {
      fail(injected("cudaEventRecord", InjectedCall::EventRecord, *code),
           is_sticky_cuda_error(*code));
      // Waiting for the whole stream is the safe substitute for the event.
      if (auto synced = synchronize(stream, "cudaStreamSynchronize"); !synced) return synced;
      retire_work(slot, work_epoch(slot));
      return {};
    }
    record(slot, stream);
    return {};
  }

  /// Host-visible classes: the host writes the payloads; no stream work.
  Result<void> upload_batch(std::span<const std::uint32_t> slots, const std::byte* messages,
                            std::size_t message_stride, StreamHandle stream) override {
    use(stream);
    if (lost()) return MemoryError::DeviceError;
    write_payloads(slots, messages, message_stride);
    return {};
  }

  Result<void> gather(std::span<const std::uint32_t> slots, std::byte* out,
                      StreamHandle stream) override {
    if (auto ready = begin_batch(slots, stream); !ready) return ready;
    batch::host_gather(out, slots.data(), slots.size(), payloads());
    return end_batch(slots, stream);
  }

  Result<void> scatter(const std::byte* in, std::span<const std::uint32_t> slots,
                       StreamHandle stream) override {
    if (auto ready = begin_batch(slots, stream); !ready) return ready;
    batch::host_scatter(in, slots.data(), slots.size(), payloads());
    return end_batch(slots, stream);
  }

  Result<bool> work_done(std::uint32_t slot) override {
    if (lost() || work_epoch(slot) == 0) return true;
    if (auto code = take_fault(InjectedCall::EventQuery)) {
      fail(injected("cudaEventQuery", InjectedCall::EventQuery, *code),
           is_sticky_cuda_error(*code));
      if (lost()) return true;  // nothing will ever run again
      return MemoryError::DeviceError;
    }
    return complete(targets_[slot].load(std::memory_order_acquire));
  }

  Result<void> wait_work(std::uint32_t slot) override {
    if (lost() || work_epoch(slot) == 0) return {};
    auto range = nvtx().range(nvtx::Op::Sync);
    if (auto code = take_fault(InjectedCall::Synchronize)) {
      fail(injected("cudaEventSynchronize", InjectedCall::Synchronize, *code),
           is_sticky_cuda_error(*code));
      if (lost()) return {};
      return MemoryError::DeviceError;
    }
    wait_for(targets_[slot].load(std::memory_order_acquire));
    count_sync();
    return {};
  }

 protected:
  /// Waits on the host for work a lease queued on @p slot; the backend's own
  /// copies are ordered by its copy stream and need no wait.
  Result<void> wait_for_lease_work(std::uint32_t slot) {
    if (!foreign_work(slot)) return {};
    const std::uint32_t epoch = work_epoch(slot);
    if (auto waited = wait_work(slot); !waited) return waited;
    if (lost()) return MemoryError::DeviceError;
    retire_work(slot, epoch);
    return {};
  }

  /// One emulated call that can fail: consumes a fault of @p kind if one is pending.
  Result<void> call(InjectedCall kind, const char* name) {
    if (auto code = take_fault(kind)) {
      return fail(injected(name, kind, *code), is_sticky_cuda_error(*code));
    }
    return {};
  }

  /// Copies the payload of @p slot between the shadow and the "device" on the copy stream.
  Result<void> copy_payload(std::uint32_t slot, bool to_device) {
    const char* name = to_device ? "cudaMemcpyAsync(HtoD)" : "cudaMemcpyAsync(DtoH)";
    if (auto copied = call(InjectedCall::Copy, name); !copied) return copied;
    std::byte* device = device_payload(slot);
    std::byte* host = host_slot(slot) + layout_.payload_offset;
    if (to_device) {
      std::memcpy(device, host, layout_.payload_bytes);
      count_to_device(layout_.payload_bytes);
    } else {
      std::memcpy(host, device, layout_.payload_bytes);
      count_to_host(layout_.payload_bytes);
    }
    return {};
  }

  /// Waits for the private copy stream (emulated copies are already done).
  Result<void> sync_copies() {
    if (auto synced = call(InjectedCall::Synchronize, "cudaStreamSynchronize"); !synced) {
      return synced;
    }
    count_sync();
    return {};
  }

  /// The slots' payloads as the emulated device addresses them.
  [[nodiscard]] batch::SlotPayloads payloads() const noexcept {
    return {device_payload(0), layout_.stride, layout_.payload_bytes};
  }

  /// Before batch work on @p stream: refused while capturing; earlier work on each slot first.
  Result<void> begin_batch(std::span<const std::uint32_t> slots, StreamHandle stream) {
    use(stream);
    if (lost()) return MemoryError::DeviceError;
    if (capture_simulated()) return MemoryError::Unsupported;
    for (std::uint32_t slot : slots) {
      if (work_epoch(slot) != 0) wait_for(targets_[slot].load(std::memory_order_acquire));
    }
    return {};
  }

  /// After batch work on @p stream: one event for the whole batch, every slot in flight.
  Result<void> end_batch(std::span<const std::uint32_t> slots, StreamHandle stream) {
    if (auto code = take_fault(InjectedCall::EventRecord)) {
      fail(injected("cudaEventRecord", InjectedCall::EventRecord, *code),
           is_sticky_cuda_error(*code));
      if (auto synced = synchronize(stream, "cudaStreamSynchronize"); !synced) return synced;
      for (std::uint32_t slot : slots) retire_work(slot, work_epoch(slot));
      return {};
    }
    const std::uint64_t target = next_target();
    for (std::uint32_t slot : slots) {
      targets_[slot].store(target, std::memory_order_release);
      mark_work(slot, /*foreign=*/true);
    }
    remember(stream, target);
    return {};
  }

  /// Marks the backend's own copy to @p slot as the slot's work (complete at once).
  Result<void> record_copy(std::uint32_t slot) {
    if (auto recorded = call(InjectedCall::EventRecord, "cudaEventRecord"); !recorded) {
      return sync_copies();  // the safe substitute for the event
    }
    targets_[slot].store(0, std::memory_order_release);
    mark_work(slot, /*foreign=*/false);
    return {};
  }

 private:
  /// Records slot @p slot's event on a caller's @p stream.
  void record(std::uint32_t slot, StreamHandle stream) {
    const std::uint64_t target = next_target();
    targets_[slot].store(target, std::memory_order_release);
    mark_work(slot, /*foreign=*/true);
    remember(stream, target);
  }

  /// @p stream's work now includes an event with @p target (for synchronize()).
  void remember(StreamHandle stream, std::uint64_t target) {
    std::lock_guard lock(streams_mutex_);
    auto& last = stream_targets_[stream.native()];
    last = std::max(last, target);
  }

  /// Waits for everything recorded on @p stream so far.
  Result<void> synchronize(StreamHandle stream, const char* name) {
    if (auto synced = call(InjectedCall::Synchronize, name); !synced) return synced;
    std::uint64_t target = 0;
    {
      std::lock_guard lock(streams_mutex_);
      if (auto it = stream_targets_.find(stream.native()); it != stream_targets_.end()) {
        target = it->second;
      }
    }
    wait_for(target);
    count_sync();
    return {};
  }

  /// Every use of a caller's stream passes here: a destroyed one is counted.
  static void use(StreamHandle stream) noexcept {
    if (stream_destroyed(stream)) count_dangling_stream_use();
  }

  Block slots_;
  Block shadow_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> targets_;
  std::mutex streams_mutex_;
  std::map<CUstream_st*, std::uint64_t> stream_targets_;
  bool borrowed_;
  char own_stream_tag_ = 0;
};

/// Pinned memory: the host and kernels share the bytes; nothing to copy.
class EmulatedPinned final : public EmulatedBackend {
 public:
  explicit EmulatedPinned(const BackendSpec& spec) : EmulatedBackend(spec, false) {}

  Result<void> prepare_host_access(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    return wait_for_lease_work(slot);
  }
  Result<void> commit_host_write(std::uint32_t) override {
    if (lost()) return MemoryError::DeviceError;
    return {};
  }
};

/// Device memory: the host works on a shadow; copies move the payload each way.
class EmulatedDevice final : public EmulatedBackend {
  /// A host buffer that only grows, left uninitialised.
  struct Growing {
    std::unique_ptr<std::byte[]> bytes;
    std::size_t size = 0;
  };
  static std::byte* reserve(Growing& buffer, std::size_t bytes) {
    if (buffer.size < bytes) {
      buffer.bytes.reset(new std::byte[bytes]);
      buffer.size = bytes;
    }
    return buffer.bytes.get();
  }

  std::mutex staging_mutex_;
  Growing staging_;
  Growing scratch_;

 public:
  explicit EmulatedDevice(const BackendSpec& spec) : EmulatedBackend(spec, true) {}

  Result<void> prepare_host_access(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    if (auto waited = wait_for_lease_work(slot); !waited) return waited;
    const std::uint32_t epoch = work_epoch(slot);
    {
      auto range = nvtx().range(nvtx::Op::CopyToHost);
      if (auto copied = copy_payload(slot, /*to_device=*/false); !copied) return copied;
    }
    if (auto synced = sync_copies(); !synced) return synced;
    retire_work(slot, epoch);  // the copy stream finished the slot's own copies too
    return {};
  }

  Result<void> commit_host_write(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    auto range = nvtx().range(nvtx::Op::CopyToDevice);
    if (auto copied = copy_payload(slot, /*to_device=*/true); !copied) return copied;
    return record_copy(slot);
  }

  /// As on a GPU: pack the payloads, one "host to device" copy, one scatter.
  Result<void> upload_batch(std::span<const std::uint32_t> slots, const std::byte* messages,
                            std::size_t message_stride, StreamHandle stream) override {
    if (auto ready = begin_batch({}, stream); !ready) return ready;
    const std::size_t bytes = layout_.payload_bytes;
    const std::size_t total = slots.size() * bytes;
    std::lock_guard lock(staging_mutex_);           // the two buffers are reused batch after batch
    std::byte* staging = reserve(staging_, total);  // the pinned staging buffer
    std::byte* scratch = reserve(scratch_, total);  // the device's copy of it
    for (std::size_t i = 0; i < slots.size(); ++i) {
      std::memcpy(staging + i * bytes, messages + i * message_stride + layout_.payload_offset,
                  bytes);
    }
    if (auto copied = call(InjectedCall::Copy, "cudaMemcpyAsync(HtoD)"); !copied) return copied;
    std::memcpy(scratch, staging, total);
    count_to_device(total);
    batch::host_scatter(scratch, slots.data(), slots.size(), payloads());
    return end_batch(slots, stream);
  }
};

/// Managed memory: host access first "prefetches" the slot to the host.
class EmulatedManaged final : public EmulatedBackend {
 public:
  explicit EmulatedManaged(const BackendSpec& spec) : EmulatedBackend(spec, false) {}

  Result<void> prepare_host_access(std::uint32_t slot) override {
    if (lost()) return MemoryError::DeviceError;
    if (auto waited = wait_for_lease_work(slot); !waited) return waited;
    auto range = nvtx().range(nvtx::Op::Prefetch);
    if (auto fetched = call(InjectedCall::Copy, "cudaMemPrefetchAsync"); !fetched) return fetched;
    return sync_copies();
  }
  Result<void> commit_host_write(std::uint32_t) override {
    if (lost()) return MemoryError::DeviceError;
    return {};
  }
};

/// A PinnedBufferPool's memory on the CPU: page-aligned host chunks, emulated events.
class EmulatedPoolMemory final : public PoolMemory {
 public:
  EmulatedPoolMemory() : PoolMemory(true) {}

  Result<Chunk> allocate(std::size_t bytes) override {
    if (auto code = take_fault(InjectedCall::Allocation)) {
      return failed("cudaHostAlloc", InjectedCall::Allocation, *code);
    }
    constexpr std::size_t page = 4096;
    auto* p = static_cast<std::byte*>(std::aligned_alloc(page, (bytes + page - 1) / page * page));
    if (p == nullptr) return MemoryError::DeviceError;
    return Chunk{p, p};
  }

  void deallocate(std::byte* host) noexcept override { std::free(host); }

  Result<std::uint32_t> record(StreamHandle stream) override {
    if (health().lost()) return MemoryError::DeviceError;
    if (stream_destroyed(stream)) count_dangling_stream_use();
    if (auto code = take_fault(InjectedCall::EventRecord)) {
      return failed("cudaEventRecord", InjectedCall::EventRecord, *code);
    }
    std::uint32_t id = 0;
    if (free_ids_.empty()) {
      id = static_cast<std::uint32_t>(targets_.size());
      targets_.push_back(0);
    } else {
      id = free_ids_.back();
      free_ids_.pop_back();
    }
    targets_[id] = next_target();
    return id;
  }

  Result<bool> done(std::uint32_t id) override {
    if (health().lost()) return true;
    if (auto code = take_fault(InjectedCall::EventQuery)) {
      failed("cudaEventQuery", InjectedCall::EventQuery, *code);
      if (health().lost()) return true;
      return MemoryError::DeviceError;
    }
    return complete(targets_[id]);
  }

  void wait(std::uint32_t id) noexcept override { wait_for(targets_[id]); }

  void recycle(std::uint32_t id) noexcept override {
    try {
      free_ids_.push_back(id);
    } catch (...) {  // out of memory: the id is simply not reused
    }
  }

  Result<void> synchronize(StreamHandle stream) override {
    if (stream_destroyed(stream)) count_dangling_stream_use();
    if (auto code = take_fault(InjectedCall::Synchronize)) {
      return failed("cudaStreamSynchronize", InjectedCall::Synchronize, *code);
    }
    return {};
  }

 private:
  MemoryError failed(const char* call, InjectedCall kind, int code) {
    return health().fail(injected(call, kind, code), is_sticky_cuda_error(code));
  }

  std::vector<std::uint64_t> targets_;
  std::vector<std::uint32_t> free_ids_;
};

template <class Twin>
BackendOrError build(const BackendSpec& spec) {
  auto backend = std::make_unique<Twin>(spec);
  if (!backend->allocated()) {
    return {nullptr, MemoryError::DeviceError,
            "host allocation of the emulated arena failed (" +
                std::to_string(spec.layout.capacity * spec.layout.stride) + " bytes)"};
  }
  return {std::move(backend), MemoryError::Unsupported, {}};
}

}  // namespace

void emulated_clock_hold(bool hold) noexcept {
  holding.store(hold);
}

void emulated_clock_release() noexcept {
  release_epoch.fetch_add(1);
  release_epoch.notify_all();
}

PoolMemoryOrError make_emulated_pool_memory(const PoolConfig&) {
  return {std::make_unique<EmulatedPoolMemory>(), MemoryError::Unsupported, {}};
}

BackendOrError make_emulated_backend(const BackendSpec& spec) {
  if (auto code = take_fault(InjectedCall::Allocation)) {
    return {nullptr, MemoryError::DeviceError,
            "injected allocation fault (CPU fallback), CUDA error " + std::to_string(*code)};
  }
  switch (spec.kind) {
    case MemoryKind::PinnedHost: return build<EmulatedPinned>(spec);
    case MemoryKind::Device: return build<EmulatedDevice>(spec);
    default: return build<EmulatedManaged>(spec);
  }
}

}  // namespace limen::detail
