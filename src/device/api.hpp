// SPDX-License-Identifier: Apache-2.0
// The device seam: the few dozen device primitives limen's memory classes,
// batches and pinned buffer pool are written over. Two implementations:
//
//   cuda_api.cpp  one CUDA runtime call per function, nothing else (built
//                 with the runtime; chosen when a device works);
//   cpu_api.cpp   the CPU device: asynchronous streams run by worker threads,
//                 events, device memory that faults on host access, sticky
//                 errors, several devices, injected faults (always built).
//
// Everything above the seam (src/backend/, src/pinned_buffer_pool.cpp) is
// written once and runs on both. Handles and status codes are CUDA's own
// types and numbers, so the CUDA implementation forwards without translating
// and the CPU device answers exactly what the runtime would.
#pragma once

#include "batch_ops.hpp"

#include <limen/config.hpp>
#include <limen/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

struct CUevent_st;          // cudaEvent_t is CUevent_st*
struct CUmemPoolHandle_st;  // cudaMemPool_t is CUmemPoolHandle_st*
struct CUgraph_st;          // cudaGraph_t is CUgraph_st*
struct CUgraphExec_st;      // cudaGraphExec_t is CUgraphExec_st*

namespace limen::detail::device {

/** @brief A cudaError_t value: 0 is success. */
using Status = int;
using Stream = CUstream_st*;
using Event = CUevent_st*;
using Pool = CUmemPoolHandle_st*;
using Graph = CUgraph_st*;
using GraphExec = CUgraphExec_st*;

/** @brief The cudaError_t values limen names (the CPU device returns exactly these). */
namespace status {
inline constexpr Status success = 0;
inline constexpr Status invalid_value = 1;
inline constexpr Status memory_allocation = 2;
inline constexpr Status insufficient_driver = 35;
inline constexpr Status no_device = 100;
inline constexpr Status invalid_device = 101;
inline constexpr Status invalid_resource_handle = 400;
inline constexpr Status illegal_state = 401;
inline constexpr Status not_ready = 600;
inline constexpr Status illegal_address = 700;
inline constexpr Status peer_access_already_enabled = 704;
inline constexpr Status not_supported = 801;
inline constexpr Status capture_unsupported = 900;
inline constexpr Status capture_invalidated = 901;
inline constexpr Status capture_unmatched = 903;
inline constexpr Status capture_isolation = 905;
inline constexpr Status capture_implicit = 906;
inline constexpr Status capture_wrong_thread = 908;
inline constexpr Status unknown = 999;
}  // namespace status

/// Stream, event and host-allocation flags: the CUDA values (cuda_api.cpp checks them).
inline constexpr unsigned stream_non_blocking = 0x1;
inline constexpr unsigned event_blocking_sync = 0x1;
inline constexpr unsigned event_disable_timing = 0x2;
inline constexpr unsigned host_alloc_portable = 0x1;
inline constexpr unsigned host_alloc_mapped = 0x2;

/// cudaStreamPerThread: the calling thread's default stream.
inline Stream per_thread_stream() noexcept { return reinterpret_cast<Stream>(0x2); }

enum class CopyKind : int { HostToDevice = 1, DeviceToHost = 2, DeviceToDevice = 3, Default = 4 };
enum class CaptureStatus : int { None = 0, Active = 1, Invalidated = 2 };
enum class CaptureMode : int { Global = 0, ThreadLocal = 1, Relaxed = 2 };

/** @brief What limen reads of one device (cudaDeviceProp). */
struct Properties {
  std::string name;
  int major = 0;
  int minor = 0;
  std::size_t total_memory = 0;
  bool managed_memory = false;
  bool concurrent_managed_access = false;
};

/**
 * @brief The device primitives. Each returns a Status and, like the CUDA
 * runtime, leaves a failure in the calling thread's last error (sticky errors
 * stay for good). Thread-safe as the runtime is.
 */
class Api {
 public:
  virtual ~Api() = default;
  Api() = default;
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /** @brief True for the CPU device. */
  [[nodiscard]] virtual bool is_cpu() const noexcept = 0;

  // --- Versions and devices ------------------------------------------------------
  virtual Status runtime_version(int* version) = 0;
  virtual Status driver_version(int* version) = 0;
  virtual Status device_count(int* count) = 0;
  virtual Status device_properties(Properties* out, int device) = 0;
  virtual Status memory_pools_supported(bool* out, int device) = 0;
  virtual Status get_device(int* device) = 0;
  virtual Status set_device(int device) = 0;
  virtual Status can_access_peer(bool* out, int device, int peer) = 0;
  virtual Status enable_peer_access(int peer) = 0;
  virtual Status device_synchronize() = 0;

  // --- Streams -------------------------------------------------------------------
  virtual Status stream_create(Stream* stream, unsigned flags) = 0;
  /// A stream for limen's own copies: on a GPU exactly stream_create(); the CPU
  /// device never holds its work (fault_injection::hold_events holds callers' work).
  virtual Status stream_create_private(Stream* stream, unsigned flags) = 0;
  virtual Status stream_destroy(Stream stream) = 0;
  virtual Status stream_synchronize(Stream stream) = 0;
  virtual Status stream_wait_event(Stream stream, Event event) = 0;
  virtual Status stream_is_capturing(Stream stream, CaptureStatus* status) = 0;
  virtual Status exchange_capture_mode(CaptureMode* mode) = 0;

  // --- Graphs (stream capture) -----------------------------------------------------
  virtual Status stream_begin_capture(Stream stream, CaptureMode mode) = 0;
  virtual Status stream_end_capture(Stream stream, Graph* graph) = 0;
  virtual Status graph_instantiate(GraphExec* exec, Graph graph) = 0;
  virtual Status graph_launch(GraphExec exec, Stream stream) = 0;
  virtual Status graph_destroy(Graph graph) = 0;
  virtual Status graph_exec_destroy(GraphExec exec) = 0;

  // --- Events --------------------------------------------------------------------
  virtual Status event_create(Event* event, unsigned flags) = 0;
  virtual Status event_destroy(Event event) = 0;
  virtual Status event_record(Event event, Stream stream) = 0;
  /// cudaEventRecordWithFlags(..., cudaEventRecordExternal): a node in a captured graph.
  virtual Status event_record_external(Event event, Stream stream) = 0;
  virtual Status event_query(Event event) = 0;
  virtual Status event_synchronize(Event event) = 0;

  // --- Memory pools (stream-ordered allocation) -----------------------------------
  virtual Status pool_create(Pool* pool, int device) = 0;
  virtual Status pool_destroy(Pool pool) = 0;
  /// Sets the release threshold to "never trim".
  virtual Status pool_keep_all(Pool pool) = 0;
  /// Gives @p peer read-write access to @p pool's memory.
  virtual Status pool_set_access(Pool pool, int peer) = 0;
  virtual Status malloc_from_pool_async(void** ptr, std::size_t bytes, Pool pool,
                                        Stream stream) = 0;
  virtual Status free_async(void* ptr, Stream stream) = 0;

  // --- Memory --------------------------------------------------------------------
  virtual Status malloc(void** ptr, std::size_t bytes) = 0;
  virtual Status free(void* ptr) = 0;
  virtual Status host_alloc(void** ptr, std::size_t bytes, unsigned flags) = 0;
  virtual Status free_host(void* ptr) = 0;
  virtual Status host_get_device_pointer(void** device, void* host) = 0;
  virtual Status malloc_managed(void** ptr, std::size_t bytes) = 0;
  virtual Status prefetch_to_host_async(const void* ptr, std::size_t bytes, Stream stream) = 0;
  virtual Status prefetch_to_device_async(const void* ptr, std::size_t bytes, int device,
                                          Stream stream) = 0;
  virtual Status memcpy_async(void* dst, const void* src, std::size_t bytes, CopyKind kind,
                              Stream stream) = 0;
  virtual Status memset_async(void* ptr, int value, std::size_t bytes, Stream stream) = 0;

  // --- Batch kernels ---------------------------------------------------------------
  /** @brief Whether batch_copy() runs (false: a CUDA build without nvcc). */
  [[nodiscard]] virtual bool has_batch_kernels() const noexcept = 0;
  /**
   * @brief One kernel on @p stream: item i of @p packed into slot @p indices[i]
   * (@p to_slots) or back, i < @p count (at least 1). It neither reads nor
   * clears the calling thread's last error, so a caller's own pending error
   * neither fails the batch nor disappears.
   */
  virtual Status batch_copy(bool to_slots, std::byte* packed, const std::uint32_t* indices,
                            std::size_t count, const batch::SlotPayloads& slots,
                            Stream stream) = 0;

  // --- Errors ----------------------------------------------------------------------
  virtual Status get_last_error() = 0;
  virtual Status peek_at_last_error() = 0;
  [[nodiscard]] virtual const char* error_name(Status status) = 0;
  [[nodiscard]] virtual const char* error_string(Status status) = 0;
};

/** @brief The CPU device (always there). */
[[nodiscard]] Api& cpu() noexcept;

/** @brief The CUDA forwarder; null when limen was built without the CUDA runtime. */
[[nodiscard]] Api* cuda() noexcept;

/** @brief The implementation this process uses: CUDA when a device works, else the CPU device. */
[[nodiscard]] Api& active();

}  // namespace limen::detail::device
