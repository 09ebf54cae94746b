// SPDX-License-Identifier: Apache-2.0
// Chooses the backend for a manager: a GPU when one works, else the CPU fallback.
#include "backends.hpp"
#include "pool_memory.hpp"

#include <limen/detail/fixed_array.hpp>
#include <limen/runtime.hpp>

#include <new>
#include <optional>
#include <string>

namespace limen::detail {
namespace {

/// Whether a GPU serves device @p ordinal; else why not (nothing: use the fallback).
template <class OrError>
std::optional<OrError> no_gpu_for(unsigned ordinal, Fallback fallback, bool* use_gpu) {
  *use_gpu = false;
  if (ordinal > max_device_ordinal) {
    return OrError{nullptr, MemoryError::Unsupported,
                   "device ordinal " + std::to_string(ordinal) + " is above 15"};
  }
  const RuntimeInfo& runtime = runtime_info();
  if (!runtime.fallback_active) {
    if (ordinal >= static_cast<unsigned>(runtime.device_count)) {
      return OrError{nullptr, MemoryError::Unsupported,
                     "device ordinal " + std::to_string(ordinal) +
                         " but the CUDA runtime reports " + std::to_string(runtime.device_count) +
                         " device(s)"};
    }
    *use_gpu = true;
    return std::nullopt;
  }
  if (fallback == Fallback::Fail) {
    return OrError{nullptr, MemoryError::Unsupported,
                   "no CUDA device available and the configuration forbids the CPU fallback: " +
                       runtime.fallback_reason};
  }
  return std::nullopt;
}

BackendOrError choose(const BackendSpec& spec) {
  bool use_gpu = false;
  if (auto refused =
          no_gpu_for<BackendOrError>(spec.config.device, spec.config.fallback, &use_gpu)) {
    return std::move(*refused);
  }
#if LIMEN_HAVE_CUDA
  if (use_gpu) return make_cuda_backend(spec);
#endif
  (void)use_gpu;  // without the CUDA runtime every ordinal is emulated
  return make_emulated_backend(spec);
}

}  // namespace

PoolMemoryOrError make_pool_memory(const PoolConfig& config) noexcept {
  try {
    bool use_gpu = false;
    if (auto refused = no_gpu_for<PoolMemoryOrError>(config.device, config.fallback, &use_gpu)) {
      return std::move(*refused);
    }
#if LIMEN_HAVE_CUDA
    if (use_gpu) return make_cuda_pool_memory(config);
#endif
    (void)use_gpu;
    return make_emulated_pool_memory(config);
  } catch (const std::bad_alloc&) {
    return {nullptr, MemoryError::OutOfMemory, "the pool's host bookkeeping"};
  }
}

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
