// SPDX-License-Identifier: Apache-2.0
// Owning handles over the device seam (see device_handles.hpp).
#include "device_handles.hpp"

#include "../device/device_errors.hpp"

#include <cstdint>
#include <string>

namespace limen::detail {

DeviceErrorInfo error_info(device::Api& api, device::Status status, const char* call,
                           const char* where) {
  DeviceErrorInfo info;
  info.code = status;
  info.name = api.error_name(status);
  info.text = api.error_string(status);
  if (api.is_cpu()) info.text += " (CPU device)";
  info.call = call;
  info.where = where;
  return info;
}

void forget(device::Api& api, device::Status status) noexcept {
  if (is_sticky_cuda_error(status)) return;
  if (api.peek_at_last_error() == status) (void)api.get_last_error();
}

DeviceScope::DeviceScope(device::Api& api, int ordinal, bool only_device) noexcept : api_(api) {
  if (only_device) return;  // nothing else could be current: no call at all
  int current = -1;
  status_ = api_.get_device(&current);
  if (status_ != device::status::success) {
    forget(api_, status_);
    return;
  }
  if (current == ordinal) return;
  status_ = api_.set_device(ordinal);
  if (status_ == device::status::success) {
    previous_ = current;
  } else {
    forget(api_, status_);
  }
}

DeviceScope::~DeviceScope() {
  if (previous_ >= 0) quietly(api_, api_.set_device(previous_));
}

Allocation::Allocation(device::Api& api, void* raw, std::size_t alignment, Memory memory,
                       device::Stream stream) noexcept
    : api_(&api), raw_(raw), memory_(memory), stream_(stream) {
  const auto address = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t mask = alignment - 1;
  base_ = static_cast<std::byte*>(raw) + ((alignment - (address & mask)) & mask);
}

Allocation::Allocation(Allocation&& other) noexcept
    : api_(other.api_),
      raw_(std::exchange(other.raw_, nullptr)),
      base_(std::exchange(other.base_, nullptr)),
      memory_(other.memory_),
      stream_(other.stream_) {}

Allocation& Allocation::operator=(Allocation&& other) noexcept {
  if (this != &other) {
    release();
    api_ = other.api_;
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
    case Memory::PinnedHost: quietly(*api_, api_->free_host(raw)); break;
    case Memory::Managed:
    case Memory::Device: quietly(*api_, api_->free(raw)); break;
    // The backend's private copy stream, never a borrowed one.
    case Memory::PoolDevice: quietly(*api_, api_->free_async(raw, stream_)); break;
  }
}

}  // namespace limen::detail
