// SPDX-License-Identifier: Apache-2.0
// Shared by nvtx_layout_test.cpp and nvtx_layout_other_tu.cpp: functions that
// build and use managers in a translation unit compiled another way.
#pragma once

#include <limen/limen.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace limen::test::layout {

struct LayoutPayload {
  std::uint64_t a = 0;
  std::uint64_t b = 0;
};

std::size_t heap_manager_size_here();
std::unique_ptr<HeapManager<LayoutPayload>> make_heap_manager_here(std::size_t capacity);
bool store_and_read_here(HeapManager<LayoutPayload>& m, std::uint64_t value);
std::unique_ptr<DeviceManager<LayoutPayload>> make_device_manager_here();

}  // namespace limen::test::layout
