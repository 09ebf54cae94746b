// SPDX-License-Identifier: Apache-2.0
#include <limen/error.hpp>

#include <string>

namespace limen {

std::string_view to_string(MemoryError error) noexcept {
  switch (error) {
    case MemoryError::NoFreeSlots: return "no free slots in memory manager";
    case MemoryError::BadToken: return "invalid token or slot index out of range";
    case MemoryError::StaleToken:
      return "token names a message that was freed; the slot was reused";
    case MemoryError::NotAllocated: return "slot is not allocated (freed or never stored)";
    case MemoryError::AlreadyBorrowed: return "slot already borrowed incompatibly";
    case MemoryError::BorrowActive: return "cannot free slot while borrows are active";
    case MemoryError::QueueOwned: return "cannot free slot while it is retained by a queue";
    case MemoryError::Poisoned: return "slot contents are poisoned (a device copy failed)";
    case MemoryError::DeviceError: return "a CUDA call failed";
    case MemoryError::Unsupported: return "operation not supported here";
    case MemoryError::OutOfMemory: return "out of host memory";
  }
  return "unknown memory error";
}

namespace {
std::string describe(MemoryError error, std::string_view context) {
  std::string text(to_string(error));
  if (!context.empty()) {
    text += ": ";
    text += context;
  }
  return text;
}
}  // namespace

MemoryErrorException::MemoryErrorException(MemoryError error, std::string_view context)
    : std::runtime_error(describe(error, context)), error_(error) {}

}  // namespace limen
