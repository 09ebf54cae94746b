// SPDX-License-Identifier: Apache-2.0
// StaticManager makes no heap allocation at all. This file replaces the global
// allocation functions of the test binary with counting ones; counting is
// armed per thread, only inside the checked scope.
#include "test_support.hpp"

#include <limen/static_manager.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;

void* counted_alloc(std::size_t size, std::size_t align) {
  if (counting) ++allocations;
  void* p = align > alignof(std::max_align_t)
                ? std::aligned_alloc(align, (size + align - 1) / align * align)
                : std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

// Out of line: inlined into a replacement operator delete, GCC 12 at -O1 sees
// free() of a pointer that came from operator new and warns
// (-Wmismatched-new-delete), although these replacements allocate with malloc.
[[gnu::noinline]] void counted_free(void* p) noexcept {
  std::free(p);
}
}  // namespace

void* operator new(std::size_t size) {
  return counted_alloc(size, 0);
}
void* operator new[](std::size_t size) {
  return counted_alloc(size, 0);
}
void* operator new(std::size_t size, std::align_val_t a) {
  return counted_alloc(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a) {
  return counted_alloc(size, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept {
  counted_free(p);
}
void operator delete[](void* p) noexcept {
  counted_free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  counted_free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  counted_free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  counted_free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  counted_free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  counted_free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  counted_free(p);
}

namespace limen::test {
namespace {

struct Counting {
  Counting() { allocations = 0, counting = true; }
  ~Counting() { counting = false; }
};

TEST(StaticManager, MakesNoHeapAllocationAtAll) {
  std::size_t seen = 0;
  {
    Counting scope;
    StaticManager<TestTensor, 8> m;
    for (std::uint32_t round = 0; round < 100; ++round) {
      const MessageToken t = m.store(message(round)).value();
      { auto r = m.read(t).value(); }
      { m.read_mut(t).value()->payload.data[0] = 1; }
      { auto h = m.peek_header(t).value(); }
      (void)m.retain(t);
      (void)m.release(t);
      (void)m.free(t);
      (void)m.stats();
    }
    (void)m.store(message(1));
    seen = allocations;
  }
  EXPECT_EQ(seen, 0U);
}

TEST(StaticManager, TheCountingHookSeesHeapAllocations) {
  // Proves the test above can fail: HeapManager allocates at construction.
  std::size_t seen = 0;
  {
    Counting scope;
    HeapManager<TestTensor> m(8);
    seen = allocations;
  }
  EXPECT_GT(seen, 0U);
}

}  // namespace
}  // namespace limen::test
