// SPDX-License-Identifier: Apache-2.0
// The device seam on a GPU: each function makes one CUDA runtime call and
// returns its status. No state and no decisions live here: everything a CPU
// run must test is above the seam (src/backend/) or in the CPU device.
#include <limen/config.hpp>

#include "api.hpp"

#include <cuda_runtime_api.h>

#include <limits>

static_assert(limen::detail::device::stream_non_blocking == cudaStreamNonBlocking);
static_assert(limen::detail::device::event_blocking_sync == cudaEventBlockingSync);
static_assert(limen::detail::device::event_disable_timing == cudaEventDisableTiming);
static_assert(limen::detail::device::host_alloc_portable == cudaHostAllocPortable);
static_assert(limen::detail::device::host_alloc_mapped == cudaHostAllocMapped);
static_assert(static_cast<int>(limen::detail::device::CopyKind::Default) == cudaMemcpyDefault);
static_assert(static_cast<int>(limen::detail::device::CaptureMode::Relaxed) ==
              cudaStreamCaptureModeRelaxed);
static_assert(limen::detail::device::status::not_ready == cudaErrorNotReady);
static_assert(limen::detail::device::status::invalid_resource_handle ==
              cudaErrorInvalidResourceHandle);
static_assert(limen::detail::device::status::capture_implicit == cudaErrorStreamCaptureImplicit);
static_assert(limen::detail::device::status::capture_isolation == cudaErrorStreamCaptureIsolation);
static_assert(limen::detail::device::status::capture_invalidated ==
              cudaErrorStreamCaptureInvalidated);
static_assert(limen::detail::device::status::capture_unsupported ==
              cudaErrorStreamCaptureUnsupported);

#if CUDART_VERSION < 12020
#error "limen needs CUDA 12.2 or newer (cudaMemLocation prefetches)"
#endif

namespace limen::detail {
namespace batch {
// src/device/batch_cuda.cu (only with nvcc).
int device_copy(bool to_slots, std::byte* packed, const std::uint32_t* indices, std::size_t count,
                const SlotPayloads& slots, cudaStream_t stream);
}  // namespace batch

namespace device {
namespace {

Status of(cudaError_t error) noexcept { return static_cast<Status>(error); }

cudaMemLocation on_device(int device) noexcept {
  cudaMemLocation location{};
  location.type = cudaMemLocationTypeDevice;
  location.id = device;
  return location;
}

cudaMemLocation on_host() noexcept {
  cudaMemLocation location{};
  location.type = cudaMemLocationTypeHost;
  return location;
}

/// cudaMemPrefetchAsync took a device ordinal before CUDA 13 and a location since.
cudaError_t prefetch(const void* ptr, std::size_t bytes, cudaMemLocation to, cudaStream_t stream) {
#if CUDART_VERSION >= 13000
  return cudaMemPrefetchAsync(ptr, bytes, to, 0, stream);
#else
  return cudaMemPrefetchAsync_v2(ptr, bytes, to, 0, stream);
#endif
}

class CudaApi final : public Api {
 public:
  bool is_cpu() const noexcept override { return false; }

  Status runtime_version(int* v) override { return of(cudaRuntimeGetVersion(v)); }
  Status driver_version(int* v) override { return of(cudaDriverGetVersion(v)); }
  Status device_count(int* n) override { return of(cudaGetDeviceCount(n)); }
  Status device_properties(Properties* out, int device) override {
    cudaDeviceProp prop{};
    const cudaError_t error = cudaGetDeviceProperties(&prop, device);
    *out = Properties{prop.name,          prop.major,
                      prop.minor,         prop.totalGlobalMem,
                      prop.managedMemory != 0, prop.concurrentManagedAccess != 0};
    return of(error);
  }
  Status memory_pools_supported(bool* out, int device) override {
    int value = 0;
    const cudaError_t error =
        cudaDeviceGetAttribute(&value, cudaDevAttrMemoryPoolsSupported, device);
    *out = value != 0;
    return of(error);
  }
  Status get_device(int* device) override { return of(cudaGetDevice(device)); }
  Status set_device(int device) override { return of(cudaSetDevice(device)); }
  Status can_access_peer(bool* out, int device, int peer) override {
    int value = 0;
    const cudaError_t error = cudaDeviceCanAccessPeer(&value, device, peer);
    *out = value != 0;
    return of(error);
  }
  Status enable_peer_access(int peer) override { return of(cudaDeviceEnablePeerAccess(peer, 0)); }
  Status device_synchronize() override { return of(cudaDeviceSynchronize()); }

  Status stream_create(Stream* s, unsigned flags) override {
    return of(cudaStreamCreateWithFlags(s, flags));
  }
  Status stream_create_private(Stream* s, unsigned flags) override {
    return of(cudaStreamCreateWithFlags(s, flags));
  }
  Status stream_destroy(Stream s) override { return of(cudaStreamDestroy(s)); }
  Status stream_synchronize(Stream s) override { return of(cudaStreamSynchronize(s)); }
  Status stream_wait_event(Stream s, Event e) override {
    return of(cudaStreamWaitEvent(s, e, 0));
  }
  Status stream_is_capturing(Stream s, CaptureStatus* status) override {
    cudaStreamCaptureStatus value = cudaStreamCaptureStatusNone;
    const cudaError_t error = cudaStreamIsCapturing(s, &value);
    *status = static_cast<CaptureStatus>(value);
    return of(error);
  }
  Status exchange_capture_mode(CaptureMode* mode) override {
    auto value = static_cast<cudaStreamCaptureMode>(*mode);
    const cudaError_t error = cudaThreadExchangeStreamCaptureMode(&value);
    *mode = static_cast<CaptureMode>(value);
    return of(error);
  }

  Status stream_begin_capture(Stream s, CaptureMode mode) override {
    return of(cudaStreamBeginCapture(s, static_cast<cudaStreamCaptureMode>(mode)));
  }
  Status stream_end_capture(Stream s, Graph* graph) override {
    return of(cudaStreamEndCapture(s, graph));
  }
  Status graph_instantiate(GraphExec* exec, Graph graph) override {
    return of(cudaGraphInstantiate(exec, graph, 0));
  }
  Status graph_launch(GraphExec exec, Stream s) override { return of(cudaGraphLaunch(exec, s)); }
  Status graph_destroy(Graph graph) override { return of(cudaGraphDestroy(graph)); }
  Status graph_exec_destroy(GraphExec exec) override { return of(cudaGraphExecDestroy(exec)); }

  Status event_create(Event* e, unsigned flags) override {
    return of(cudaEventCreateWithFlags(e, flags));
  }
  Status event_destroy(Event e) override { return of(cudaEventDestroy(e)); }
  Status event_record(Event e, Stream s) override { return of(cudaEventRecord(e, s)); }
  Status event_record_external(Event e, Stream s) override {
    return of(cudaEventRecordWithFlags(e, s, cudaEventRecordExternal));
  }
  Status event_query(Event e) override { return of(cudaEventQuery(e)); }
  Status event_synchronize(Event e) override { return of(cudaEventSynchronize(e)); }

  Status pool_create(Pool* pool, int device) override {
    cudaMemPoolProps props{};
    props.allocType = cudaMemAllocationTypePinned;
    props.location = on_device(device);
    return of(cudaMemPoolCreate(pool, &props));
  }
  Status pool_destroy(Pool pool) override { return of(cudaMemPoolDestroy(pool)); }
  Status pool_keep_all(Pool pool) override {
    std::uint64_t never = std::numeric_limits<std::uint64_t>::max();
    return of(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &never));
  }
  Status pool_set_access(Pool pool, int peer) override {
    cudaMemAccessDesc access{};
    access.location = on_device(peer);
    access.flags = cudaMemAccessFlagsProtReadWrite;
    return of(cudaMemPoolSetAccess(pool, &access, 1));
  }
  Status malloc_from_pool_async(void** p, std::size_t n, Pool pool, Stream s) override {
    return of(cudaMallocFromPoolAsync(p, n, pool, s));
  }
  Status free_async(void* p, Stream s) override { return of(cudaFreeAsync(p, s)); }

  Status malloc(void** p, std::size_t n) override { return of(cudaMalloc(p, n)); }
  Status free(void* p) override { return of(cudaFree(p)); }
  Status host_alloc(void** p, std::size_t n, unsigned flags) override {
    return of(cudaHostAlloc(p, n, flags));
  }
  Status free_host(void* p) override { return of(cudaFreeHost(p)); }
  Status host_get_device_pointer(void** device, void* host) override {
    return of(cudaHostGetDevicePointer(device, host, 0));
  }
  Status malloc_managed(void** p, std::size_t n) override {
    return of(cudaMallocManaged(p, n, cudaMemAttachGlobal));
  }
  Status prefetch_to_host_async(const void* p, std::size_t n, Stream s) override {
    return of(prefetch(p, n, on_host(), s));
  }
  Status prefetch_to_device_async(const void* p, std::size_t n, int device, Stream s) override {
    return of(prefetch(p, n, on_device(device), s));
  }
  Status memcpy_async(void* dst, const void* src, std::size_t n, CopyKind kind,
                      Stream s) override {
    return of(cudaMemcpyAsync(dst, src, n, static_cast<cudaMemcpyKind>(kind), s));
  }
  Status memset_async(void* p, int value, std::size_t n, Stream s) override {
    return of(cudaMemsetAsync(p, value, n, s));
  }

  bool has_batch_kernels() const noexcept override { return LIMEN_HAVE_CUDA_KERNELS != 0; }
  Status batch_copy(bool to_slots, std::byte* packed, const std::uint32_t* indices,
                    std::size_t count, const batch::SlotPayloads& slots, Stream s) override {
#if LIMEN_HAVE_CUDA_KERNELS
    return batch::device_copy(to_slots, packed, indices, count, slots, s);
#else
    (void)to_slots, (void)packed, (void)indices, (void)count, (void)slots, (void)s;
    return status::not_supported;  // never asked: has_batch_kernels() is false
#endif
  }

  Status get_last_error() override { return of(cudaGetLastError()); }
  Status peek_at_last_error() override { return of(cudaPeekAtLastError()); }
  const char* error_name(Status s) override {
    return cudaGetErrorName(static_cast<cudaError_t>(s));
  }
  const char* error_string(Status s) override {
    return cudaGetErrorString(static_cast<cudaError_t>(s));
  }
};

}  // namespace

Api* cuda() noexcept {
  static CudaApi api;
  return &api;
}

}  // namespace device
}  // namespace limen::detail
