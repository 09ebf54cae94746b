// SPDX-License-Identifier: Apache-2.0
/**
 * @file error.hpp
 * @brief The error vocabulary shared by every manager: MemoryError and its exception.
 */
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace limen {

/**
 * @brief Why a manager operation failed.
 *
 * Every fallible call returns one of these inside a `Result`; none of them
 * leaves a stored message lost or corrupted, except `Poisoned`, which says
 * exactly that about one slot.
 */
enum class MemoryError : std::uint8_t {
  NoFreeSlots,      ///< every slot is in use
  BadToken,         ///< invalid token, or index out of range
  StaleToken,       ///< the slot now holds a newer message than the token names
  NotAllocated,     ///< the slot is empty (double free, read after free)
  AlreadyBorrowed,  ///< the requested guard conflicts with a live one
  BorrowActive,     ///< `free` while a guard on the slot lives
  QueueOwned,       ///< `free` while the token is retained
  Poisoned,         ///< the slot's contents can no longer be trusted
  DeviceError,      ///< a CUDA call failed; see the manager's last_device_error()
  Unsupported,      ///< the request cannot be served here (class, ordinal, size, fallback policy)
  OutOfMemory,      ///< host memory for the manager's own arrays could not be allocated
};

/** @brief A short, readable description of @p error (never empty). */
[[nodiscard]] std::string_view to_string(MemoryError error) noexcept;

/**
 * @brief The details of the last failed CUDA call of a manager (its DeviceError).
 *
 * `code` is the `cudaError_t` value (0 never appears here); `name` and `text`
 * are what `cudaGetErrorName` / `cudaGetErrorString` say; `call` names the
 * runtime call and `where` the limen source line that made it.
 */
struct DeviceErrorInfo {
  int code = 0;       ///< the cudaError_t value
  std::string name;   ///< e.g. "cudaErrorIllegalAddress"
  std::string text;   ///< the runtime's description
  std::string call;   ///< the runtime call that failed, e.g. "cudaEventSynchronize"
  std::string where;  ///< the limen source file and line that made the call
};

/**
 * @brief The exception thrown by `Result::value()` on an error and by
 * constructors that cannot build their manager.
 *
 * `what()` gives the error's description, followed by any context given.
 */
class MemoryErrorException : public std::runtime_error {
 public:
  /** @brief An exception for @p error; @p context (if any) follows its description in what(). */
  explicit MemoryErrorException(MemoryError error, std::string_view context = {});

  /** @brief The error this exception carries. */
  [[nodiscard]] MemoryError error() const noexcept { return error_; }

 private:
  MemoryError error_;
};

}  // namespace limen
