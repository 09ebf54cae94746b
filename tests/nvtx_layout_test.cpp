// SPDX-License-Identifier: Apache-2.0
// Managers built in one translation unit and used in another compiled with a
// different NVTX switch must agree on every layout (run under ASan in CI: the
// old per-translation-unit switch gave a heap-buffer-overflow here).
#include "nvtx_layout_test.hpp"

#include <gtest/gtest.h>

namespace limen::test::layout {
namespace {

TEST(NvtxLayout, ManagersHaveOneLayoutInEveryTranslationUnit) {
  EXPECT_EQ(heap_manager_size_here(), sizeof(HeapManager<LayoutPayload>));
}

TEST(NvtxLayout, AManagerBuiltElsewhereWorksHereAndBack) {
  auto built_there = make_heap_manager_here(8);
  const auto token = built_there->store(Message<LayoutPayload>(LayoutPayload{1, 2})).value();
  EXPECT_EQ(built_there->read(token).value()->payload.b, 2U);
  EXPECT_TRUE(store_and_read_here(*built_there, 7));

  HeapManager<LayoutPayload> built_here(8, MemoryClass::host(), "layout");
  EXPECT_TRUE(store_and_read_here(built_here, 9));
  EXPECT_EQ(built_here.available(), 8U);
}

TEST(NvtxLayout, ClassManagersToo) {
  auto m = make_device_manager_here();
  const auto token = m->store(Message<LayoutPayload>(LayoutPayload{3, 4})).value();
  EXPECT_EQ(m->read(token).value()->payload.a, 3U);
  EXPECT_TRUE(m->free(token).has_value());
}

}  // namespace
}  // namespace limen::test::layout
