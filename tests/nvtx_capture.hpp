// SPDX-License-Identifier: Apache-2.0
// A test-only NVTX tool, linked statically into the test binary (NVTX's static
// injection): it records what limen tells NVTX so tests can assert on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nvtx_capture {

/// One recorded NVTX call.
struct Event {
  std::string kind;  ///< "push", "pop", "mark", "heap", "heap_reset", "heap_unregister",
                     ///< "region", "region_unregister"
  std::string domain;
  std::string text;  ///< the message (registered string or ASCII) of push and mark
  std::uint32_t category = 0;
  const void* pointer = nullptr;  ///< heap or region start
  std::size_t size = 0;           ///< heap or region size
};

/// Whether NVTX attached this tool (false when NVTX is compiled out or another tool won).
bool attached();
/// Start or stop recording; while stopped the tool records and allocates nothing.
void set_recording(bool on);
/// Drops everything recorded so far.
void reset();
/// A copy of what was recorded, in call order.
std::vector<Event> events();
/// How many recorded events have this kind and text (text "" matches any).
std::size_t count(const std::string& kind, const std::string& text = "");

}  // namespace nvtx_capture
