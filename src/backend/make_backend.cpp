// SPDX-License-Identifier: Apache-2.0
// Chooses the backend for a manager: a GPU when one works, else the CPU fallback.
#include "backends.hpp"

#include <limen/detail/fixed_array.hpp>
#include <limen/runtime.hpp>

#include <new>
#include <string>

namespace limen::detail {
namespace {

BackendOrError choose(const BackendSpec& spec) {
  const unsigned ordinal = spec.config.device;
  if (ordinal > max_device_ordinal) {
    return {nullptr, MemoryError::Unsupported,
            "device ordinal " + std::to_string(ordinal) + " is above 15"};
  }
  const RuntimeInfo& runtime = runtime_info();
  if (!runtime.fallback_active) {
#if LIMEN_HAVE_CUDA
    if (ordinal >= static_cast<unsigned>(runtime.device_count)) {
      return {nullptr, MemoryError::Unsupported,
              "device ordinal " + std::to_string(ordinal) + " but the CUDA runtime reports " +
                  std::to_string(runtime.device_count) + " device(s)"};
    }
    return make_cuda_backend(spec);
#endif
  }
  if (spec.config.fallback == Fallback::Fail) {
    return {nullptr, MemoryError::Unsupported,
            "no CUDA device available and the configuration forbids the CPU fallback: " +
                runtime.fallback_reason};
  }
  return make_emulated_backend(spec);
}

}  // namespace

BackendOrError make_backend(const BackendSpec& spec) noexcept {
  try {
    if (!checked_product(spec.layout.capacity, spec.layout.stride)) {
      return {nullptr, MemoryError::Unsupported,
              "capacity x slot size overflows the address space"};
    }
    return choose(spec);
  } catch (const std::bad_alloc&) {
    return {nullptr, MemoryError::OutOfMemory, "the backend's host bookkeeping"};
  }
}

}  // namespace limen::detail
