// SPDX-License-Identifier: Apache-2.0
// Which side of the device seam this process uses: the CUDA runtime when the
// probe found a working device (src/runtime.cpp), the CPU device otherwise.
#include <limen/config.hpp>

#include "api.hpp"

#include <limen/runtime.hpp>

namespace limen::detail::device {

#if !LIMEN_HAVE_CUDA
Api* cuda() noexcept {
  return nullptr;
}
#endif

Api& active() {
  static Api* const chosen = runtime_info().fallback_active ? &cpu() : cuda();
  return *chosen;
}

}  // namespace limen::detail::device
