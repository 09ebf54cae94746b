// The GPU arena: pinned host memory, device memory from a CUDA memory pool, or
// managed memory, with a stream and one event per slot. Every allocation happens
// here, at construction; the per-operation calls only copy, prefetch and sync.
#include "arenas.hpp"

#include <limen/runtime.hpp>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace limen::detail {
namespace {

DeviceErrorInfo cuda_error_info(cudaError_t error, const char* call, const char* file, int line) {
  DeviceErrorInfo info;
  info.code = static_cast<int>(error);
  info.name = cudaGetErrorName(error);
  info.text = cudaGetErrorString(error);
  info.call = call;
  info.where = std::string(file) + ":" + std::to_string(line);
  return info;
}

/// Runs a CUDA runtime call; on failure records it and returns DeviceError from the caller.
#define LIMEN_CUDA_TRY(call)                                                  \
  do {                                                                        \
    const cudaError_t limen_status_ = (call);                                 \
    if (limen_status_ != cudaSuccess) {                                       \
      return fail(cuda_error_info(limen_status_, #call, __FILE__, __LINE__)); \
    }                                                                         \
  } while (0)

/// Makes device @p ordinal current for a scope, restoring the caller's device after.
class DeviceScope {
 public:
  explicit DeviceScope(int ordinal) noexcept {
    if (cudaGetDevice(&previous_) == cudaSuccess && previous_ != ordinal) {
      (void)cudaSetDevice(ordinal);
    } else {
      previous_ = -1;
    }
  }
  ~DeviceScope() {
    if (previous_ >= 0) (void)cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = -1;
};

cudaStream_t native(StreamHandle s) noexcept {
  return s.as<cudaStream_t>();
}

class CudaArena final : public Arena {
 public:
  explicit CudaArena(const ArenaSpec& spec)
      : Arena(false),
        kind_(spec.kind),
        ordinal_(static_cast<int>(spec.config.device)),
        bytes_(spec.capacity * spec.stride),
        alignment_(spec.alignment),
        events_(spec.capacity, nullptr),
        borrowed_(spec.config.stream.has_value()) {
    const DeviceInfo& device = runtime_info().devices.at(static_cast<std::size_t>(ordinal_));
    can_prefetch_ = device.concurrent_managed_access;
    if (spec.config.stream) stream_ = *spec.config.stream;  // borrowed: never destroyed here
  }

  ~CudaArena() override {
    DeviceScope scope(ordinal_);
    // Device work on any stream may still use the slots (leases on callers'
    // streams, deferred frees): wait for every slot's last event first.
    for (cudaEvent_t e : events_) {
      if (e != nullptr) (void)cudaEventSynchronize(e);
    }
    (void)cudaStreamSynchronize(native(stream_));
    for (cudaEvent_t e : events_) {
      if (e != nullptr) (void)cudaEventDestroy(e);
    }
    if (kind_ == MemoryKind::Device) {
      if (raw_device_ != nullptr) {
        (void)cudaFreeAsync(raw_device_, native(stream_));
        (void)cudaStreamSynchronize(native(stream_));
      }
      if (pool_ != nullptr) (void)cudaMemPoolDestroy(pool_);
      if (raw_host_ != nullptr) (void)cudaFreeHost(raw_host_);
    } else if (kind_ == MemoryKind::PinnedHost) {
      if (raw_host_ != nullptr) (void)cudaFreeHost(raw_host_);
    } else if (raw_host_ != nullptr) {
      (void)cudaFree(raw_host_);
    }
    if (owns_stream_) (void)cudaStreamDestroy(native(stream_));
  }

  /** @brief Creates the stream, the memory and the events; on failure last_error() says why. */
  Result<void> init() {
    DeviceScope scope(ordinal_);
    LIMEN_CUDA_TRY(cudaSetDevice(ordinal_));
    if (!borrowed_) {
      cudaStream_t s = nullptr;
      LIMEN_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
      stream_ = StreamHandle(s);
      owns_stream_ = true;
    }
    switch (kind_) {
      case MemoryKind::PinnedHost: {
        LIMEN_CUDA_TRY(
            cudaHostAlloc(&raw_host_, alloc_bytes(), cudaHostAllocMapped | cudaHostAllocPortable));
        host_base_ = aligned(raw_host_);
        void* d = nullptr;
        LIMEN_CUDA_TRY(cudaHostGetDevicePointer(&d, host_base_, 0));
        device_base_ = static_cast<std::byte*>(d);
        break;
      }
      case MemoryKind::Device:
        if (auto made = make_pool_block(); !made) return made;
        break;
      default: {
        LIMEN_CUDA_TRY(cudaMallocManaged(&raw_host_, alloc_bytes(), cudaMemAttachGlobal));
        host_base_ = device_base_ = aligned(raw_host_);
        break;
      }
    }
    for (cudaEvent_t& e : events_)
      LIMEN_CUDA_TRY(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    return {};
  }

  Result<void> copy_to_host(std::size_t offset, std::size_t bytes) override {
    return copy(host_base_ + offset, device_base_ + offset, bytes, cudaMemcpyDeviceToHost);
  }

  Result<void> copy_to_device(std::size_t offset, std::size_t bytes) override {
    return copy(device_base_ + offset, host_base_ + offset, bytes, cudaMemcpyHostToDevice);
  }

  Result<void> prefetch_to_host(std::size_t offset, std::size_t bytes) override {
    DeviceScope scope(ordinal_);
    if (can_prefetch_) {
      cudaMemLocation host{};
      host.type = cudaMemLocationTypeHost;
      LIMEN_CUDA_TRY(cudaMemPrefetchAsync(host_base_ + offset, bytes, host, 0, native(stream_)));
      LIMEN_CUDA_TRY(cudaStreamSynchronize(native(stream_)));
    } else {
      // Without concurrent managed access the host may touch managed memory
      // only while the device is idle.
      LIMEN_CUDA_TRY(cudaDeviceSynchronize());
    }
    return {};
  }

  Result<void> record_event(std::uint32_t slot, StreamHandle stream) override {
    DeviceScope scope(ordinal_);
    LIMEN_CUDA_TRY(cudaEventRecord(events_[slot], native(stream)));
    return {};
  }

  Result<bool> event_done(std::uint32_t slot) override {
    const cudaError_t status = cudaEventQuery(events_[slot]);
    if (status == cudaSuccess) return true;
    if (status == cudaErrorNotReady) return false;
    return fail(cuda_error_info(status, "cudaEventQuery", __FILE__, __LINE__));
  }

  Result<void> wait_event(std::uint32_t slot) override {
    LIMEN_CUDA_TRY(cudaEventSynchronize(events_[slot]));
    return {};
  }

  Result<void> stream_wait_event(std::uint32_t slot, StreamHandle stream) override {
    DeviceScope scope(ordinal_);
    LIMEN_CUDA_TRY(cudaStreamWaitEvent(native(stream), events_[slot], 0));
    return {};
  }

  Result<void> synchronize(StreamHandle stream) override {
    LIMEN_CUDA_TRY(cudaStreamSynchronize(native(stream)));
    return {};
  }

  Result<void> prefetch_to_device(std::size_t offset, std::size_t bytes,
                                  StreamHandle stream) override {
    if (kind_ != MemoryKind::Shared || !can_prefetch_) return {};
    DeviceScope scope(ordinal_);
    cudaMemLocation device{};
    device.type = cudaMemLocationTypeDevice;
    device.id = ordinal_;
    LIMEN_CUDA_TRY(cudaMemPrefetchAsync(host_base_ + offset, bytes, device, 0, native(stream)));
    return {};
  }

 private:
  /// A copy on the manager's stream, waited for: the host uses the bytes next.
  Result<void> copy(std::byte* to, const std::byte* from, std::size_t bytes, cudaMemcpyKind kind) {
    DeviceScope scope(ordinal_);
    LIMEN_CUDA_TRY(cudaMemcpyAsync(to, from, bytes, kind, native(stream_)));
    LIMEN_CUDA_TRY(cudaStreamSynchronize(native(stream_)));
    return {};
  }

  /// Bytes to allocate: the slots plus room to align their base when the
  /// allocator's own alignment (at least 256 bytes for every CUDA allocator) is less.
  std::size_t alloc_bytes() const noexcept {
    return (bytes_ == 0 ? alignment_ : bytes_) + (alignment_ > 256 ? alignment_ : 0);
  }
  std::byte* aligned(void* raw) const noexcept {
    const auto address = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t mask = alignment_ - 1;
    return static_cast<std::byte*>(raw) + ((alignment_ - (address & mask)) & mask);
  }

  /// A pool on the device whose release threshold never trims, and one block from it.
  Result<void> make_pool_block() {
    cudaMemPoolProps props{};
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = ordinal_;
    LIMEN_CUDA_TRY(cudaMemPoolCreate(&pool_, &props));
    std::uint64_t keep_everything = std::numeric_limits<std::uint64_t>::max();
    LIMEN_CUDA_TRY(
        cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep_everything));
    LIMEN_CUDA_TRY(cudaMallocFromPoolAsync(&raw_device_, alloc_bytes(), pool_, native(stream_)));
    device_base_ = aligned(raw_device_);
    LIMEN_CUDA_TRY(cudaMemsetAsync(raw_device_, 0, alloc_bytes(), native(stream_)));
    LIMEN_CUDA_TRY(cudaStreamSynchronize(native(stream_)));
    LIMEN_CUDA_TRY(cudaHostAlloc(&raw_host_, alloc_bytes(), cudaHostAllocPortable));
    host_base_ = aligned(raw_host_);
    return {};
  }

  MemoryKind kind_;
  int ordinal_;
  std::size_t bytes_;
  std::size_t alignment_;
  void* raw_host_ = nullptr;    ///< as allocated (host_base_ may be aligned past it)
  void* raw_device_ = nullptr;  ///< as allocated (device_base_ may be aligned past it)
  std::vector<cudaEvent_t> events_;
  cudaMemPool_t pool_ = nullptr;
  bool borrowed_;
  bool owns_stream_ = false;
  bool can_prefetch_ = false;
};

#undef LIMEN_CUDA_TRY

}  // namespace

ArenaOrError make_cuda_arena(const ArenaSpec& spec) {
  ArenaOrError out;
  auto arena = std::make_unique<CudaArena>(spec);
  if (auto ready = arena->init(); !ready) {
    const auto error = arena->last_error();
    out.error = ready.error();
    out.why = error ? error->call + " failed: " + error->name + " (" + error->text + ") at " +
                          error->where
                    : "CUDA initialisation failed";
    return out;
  }
  out.arena = std::move(arena);
  return out;
}

}  // namespace limen::detail
