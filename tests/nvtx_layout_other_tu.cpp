// SPDX-License-Identifier: Apache-2.0
// Half of the layout test (nvtx_layout_test.cpp): this translation unit is
// compiled with LIMEN_NVTX_DISABLE, the switch that once changed the layout of
// every manager per translation unit. limen's types must be identical here.
#define LIMEN_NVTX_DISABLE 1
#include "nvtx_layout_test.hpp"

namespace limen::test::layout {

std::size_t heap_manager_size_here() {
  return sizeof(HeapManager<LayoutPayload>);
}

std::unique_ptr<HeapManager<LayoutPayload>> make_heap_manager_here(std::size_t capacity) {
  return std::make_unique<HeapManager<LayoutPayload>>(capacity, MemoryClass::host(), "layout");
}

bool store_and_read_here(HeapManager<LayoutPayload>& m, std::uint64_t value) {
  const auto token = m.store(Message<LayoutPayload>(LayoutPayload{value, value})).value();
  const bool ok = m.read(token).value()->payload.b == value;
  return m.free(token).has_value() && ok;
}

std::unique_ptr<DeviceManager<LayoutPayload>> make_device_manager_here() {
  ManagerConfig config;
  config.capacity = 4;
  return std::make_unique<DeviceManager<LayoutPayload>>(config);
}

}  // namespace limen::test::layout
