// SPDX-License-Identifier: Apache-2.0
/**
 * @file stream.hpp
 * @brief StreamHandle: a CUDA stream carried through public headers without cuda_runtime.h.
 */
#pragma once

#include <cstddef>
#include <cstdint>

/// The CUDA runtime's stream type: `cudaStream_t` is `CUstream_st*`.
struct CUstream_st;

namespace limen {

/**
 * @brief A value type naming a CUDA stream; it never owns the stream.
 *
 * Built only from a real `cudaStream_t` (`StreamHandle{stream}`), never from
 * an integer, `nullptr` or another pointer type, and turned back with
 * `native()`; limen never uses a caller's stream for its own copies.
 *
 * **Default streams.** `StreamHandle{}` (and `legacy()`) is always the
 * *legacy* default stream, which serialises with every blocking stream of
 * its device, even in an application compiled with
 * `--default-stream per-thread`: that flag changes what a null stream means
 * in the files it compiles, not in limen's. Such an application names its
 * default stream with `StreamHandle::per_thread()` (`cudaStreamPerThread`):
 * the calling thread's own default stream, a blocking stream that serialises
 * with the legacy one but not with other threads' or other blocking streams.
 * Like `cudaStreamPerThread` itself, it means the stream of whichever thread
 * makes the call, on the device limen's call runs on (the manager's): a lease
 * begun with it and ended from another thread ends on that other thread's
 * stream, and kernels meant to be ordered with it must be launched with the
 * manager's device current.
 */
class StreamHandle {
 public:
  /** @brief The legacy default stream. */
  constexpr StreamHandle() noexcept = default;
  /** @brief Names @p stream (a `cudaStream_t`). */
  constexpr explicit StreamHandle(CUstream_st* stream) noexcept : native_(stream) {}
  /// Say `StreamHandle{}` for the default stream.
  StreamHandle(std::nullptr_t) = delete;
  StreamHandle(int) = delete;
  /// Only a `cudaStream_t` names a stream.
  template <class T>
  StreamHandle(T*) = delete;

  /** @brief The legacy default stream (`cudaStreamLegacy`'s meaning); the same as `StreamHandle{}`.
   */
  [[nodiscard]] static constexpr StreamHandle legacy() noexcept { return StreamHandle{}; }
  /** @brief The calling thread's per-thread default stream (`cudaStreamPerThread`). */
  [[nodiscard]] static StreamHandle per_thread() noexcept {
    return StreamHandle{reinterpret_cast<CUstream_st*>(std::uintptr_t{0x2})};
  }

  /** @brief The stream, as a `cudaStream_t`. */
  [[nodiscard]] constexpr CUstream_st* native() const noexcept { return native_; }
  /** @brief Whether this is the legacy default stream. */
  [[nodiscard]] constexpr bool is_default() const noexcept { return native_ == nullptr; }
  /** @brief Whether this is `per_thread()`. */
  [[nodiscard]] bool is_per_thread() const noexcept { return *this == per_thread(); }

  /** @brief Whether both name the same stream. */
  friend constexpr bool operator==(StreamHandle, StreamHandle) noexcept = default;

 private:
  CUstream_st* native_ = nullptr;
};

}  // namespace limen
