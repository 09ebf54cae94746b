// SPDX-License-Identifier: Apache-2.0
#include <limen/memory_class.hpp>

#include <string>

namespace limen {

std::string MemoryClass::to_string() const {
  switch (kind_) {
    case MemoryKind::Host: return "host";
    case MemoryKind::PinnedHost: return "pinned_host";
    case MemoryKind::Device: return "device:" + std::to_string(ordinal_);
    case MemoryKind::Shared: return "shared";
  }
  return "unknown";
}

}  // namespace limen
