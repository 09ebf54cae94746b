// SPDX-License-Identifier: Apache-2.0
#include <limen/memory_class.hpp>

#include <string>

namespace limen {

std::string MemoryClass::to_string() const {
  std::string name = detail::kind_traits(kind_).name;
  if (detail::kind_traits(kind_).has_ordinal) {
    name += ':';  // two appends: GCC 12 misreports `name += ":" + ...` at -O3 (-Wrestrict)
    name += std::to_string(ordinal_);
  }
  return name;
}

}  // namespace limen
