// SPDX-License-Identifier: Apache-2.0
/**
 * @file stream.hpp
 * @brief StreamHandle: a CUDA stream carried through public headers without cuda_runtime.h.
 */
#pragma once

#include <cstddef>

/// The CUDA runtime's stream type: `cudaStream_t` is `CUstream_st*`.
struct CUstream_st;

namespace limen {

/**
 * @brief A value type naming a CUDA stream; it never owns the stream.
 *
 * Built only from a real `cudaStream_t` (`StreamHandle{stream}`), never from
 * an integer, `nullptr` or another pointer type, and turned back with
 * `native()`. `StreamHandle{}` is the legacy default stream, which serialises
 * with every blocking stream; limen never uses it for its own copies.
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

  /** @brief The stream, as a `cudaStream_t`. */
  [[nodiscard]] constexpr CUstream_st* native() const noexcept { return native_; }
  /** @brief Whether this is the legacy default stream. */
  [[nodiscard]] constexpr bool is_default() const noexcept { return native_ == nullptr; }

  /** @brief Whether both name the same stream. */
  friend constexpr bool operator==(StreamHandle, StreamHandle) noexcept = default;

 private:
  CUstream_st* native_ = nullptr;
};

}  // namespace limen
