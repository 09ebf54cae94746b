// SPDX-License-Identifier: Apache-2.0
// limen's small CUDA layer (see cuda_support.hpp).
#include "cuda_support.hpp"

#include "device_errors.hpp"

#include <cstdint>
#include <string>

namespace limen::detail::cuda {

DeviceErrorInfo error_info(cudaError_t error, const char* call, const char* where) {
  DeviceErrorInfo info;
  info.code = static_cast<int>(error);
  info.name = cudaGetErrorName(error);
  info.text = cudaGetErrorString(error);
  info.call = call;
  info.where = where;
  return info;
}

void forget(cudaError_t error) noexcept {
  if (is_sticky_cuda_error(static_cast<int>(error))) return;
  if (cudaPeekAtLastError() == error) (void)cudaGetLastError();
}

DeviceScope::DeviceScope(int ordinal) noexcept {
  int current = -1;
  status_ = cudaGetDevice(&current);
  if (status_ != cudaSuccess) {
    forget(status_);
    return;
  }
  if (current == ordinal) return;
  status_ = cudaSetDevice(ordinal);
  if (status_ == cudaSuccess) {
    previous_ = current;
  } else {
    forget(status_);
  }
}

DeviceScope::~DeviceScope() {
  if (previous_ >= 0) quietly(cudaSetDevice(previous_));
}

Allocation::Allocation(void* raw, std::size_t alignment, Memory memory,
                       cudaStream_t stream) noexcept
    : raw_(raw), memory_(memory), stream_(stream) {
  const auto address = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t mask = alignment - 1;
  base_ = static_cast<std::byte*>(raw) + ((alignment - (address & mask)) & mask);
}

Allocation::Allocation(Allocation&& other) noexcept
    : raw_(std::exchange(other.raw_, nullptr)),
      base_(std::exchange(other.base_, nullptr)),
      memory_(other.memory_),
      stream_(other.stream_) {}

Allocation& Allocation::operator=(Allocation&& other) noexcept {
  if (this != &other) {
    release();
    raw_ = std::exchange(other.raw_, nullptr);
    base_ = std::exchange(other.base_, nullptr);
    memory_ = other.memory_;
    stream_ = other.stream_;
  }
  return *this;
}

Allocation::~Allocation() {
  release();
}

void Allocation::release() noexcept {
  if (raw_ == nullptr) return;
  void* raw = std::exchange(raw_, nullptr);
  base_ = nullptr;
  switch (memory_) {
    case Memory::PinnedHost: quietly(cudaFreeHost(raw)); break;
    case Memory::Managed:
    case Memory::Device: quietly(cudaFree(raw)); break;
    case Memory::PoolDevice:
      // The stream is the backend's private copy stream, never a borrowed one.
      if (quietly(cudaFreeAsync(raw, stream_))) quietly(cudaStreamSynchronize(stream_));
      break;
  }
}

}  // namespace limen::detail::cuda
