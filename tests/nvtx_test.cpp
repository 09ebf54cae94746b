// SPDX-License-Identifier: Apache-2.0
// NVTX annotations, checked through the static capture tool: ranges named
// after the manager, a category per memory class, error marks, and the NVTX
// memory API (one heap per pool, one region per stored message).
#include "test_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <gtest/gtest.h>

#if LIMEN_TEST_NVTX_CAPTURE
#include "nvtx_capture.hpp"
#endif

#include <string>

namespace limen::test {
namespace {

#if LIMEN_TEST_NVTX_CAPTURE

/// Records NVTX calls for the duration of each test.
class Nvtx : public ::testing::Test {
 protected:
  void SetUp() override {
    fault_injection::clear_faults();
    // NVTX initialises (and attaches the tool) on first use.
    if (!runtime_info().nvtx_tool_attached || !nvtx_capture::attached())
      GTEST_SKIP() << "the NVTX capture tool is not attached";
    nvtx_capture::reset();
    nvtx_capture::set_recording(true);
  }
  void TearDown() override {
    nvtx_capture::set_recording(false);
    nvtx_capture::reset();
    fault_injection::clear_faults();
    fault_injection::hold_events(false);
    fault_injection::release_events();
  }

  static ManagerConfig named(const std::string& name, std::size_t capacity = 4) {
    ManagerConfig c;
    c.capacity = capacity;
    c.name = name;
    return c;
  }

  static std::uint32_t category(MemoryClass c) { return static_cast<std::uint32_t>(c.kind()) + 1; }
};

const MemoryClass kClasses[] = {MemoryClass::host(), MemoryClass::pinned_host(),
                                MemoryClass::device(0), MemoryClass::shared()};

TEST_F(Nvtx, StoreAndFreeAreRangesNamedAfterTheManager) {
  for (MemoryClass c : kClasses) {
    const std::string name = "ranges-" + c.to_string();
    auto m = make_manager<TestTensor>(c, named(name)).value();
    nvtx_capture::reset();
    const MessageToken t = m.store(message(1)).value();
    ASSERT_TRUE(m.free(t).has_value());
    EXPECT_EQ(nvtx_capture::count("push", name + "/store"), 1U) << c.to_string();
    EXPECT_EQ(nvtx_capture::count("push", name + "/free"), 1U) << c.to_string();
    EXPECT_EQ(nvtx_capture::count("push"), nvtx_capture::count("pop")) << c.to_string();
    for (const auto& e : nvtx_capture::events()) {
      EXPECT_EQ(e.domain, "limen");
      if (e.kind == "push") {
        EXPECT_EQ(e.category, category(c)) << e.text;
      }
    }
  }
}

TEST_F(Nvtx, EachStoreRegistersAndEachFreeUnregistersExactlyOneRegion) {
  for (MemoryClass c : kClasses) {
    auto m = make_manager<TestTensor>(c, named("regions")).value();
    nvtx_capture::reset();
    const MessageToken a = m.store(message(1)).value();
    const MessageToken b = m.store(message(2)).value();
    EXPECT_EQ(nvtx_capture::count("region"), 2U) << c.to_string();
    ASSERT_TRUE(m.free(a).has_value());
    EXPECT_EQ(nvtx_capture::count("region_unregister"), 1U) << c.to_string();
    ASSERT_TRUE(m.free(b).has_value());
    const auto events = nvtx_capture::events();
    std::vector<const void*> registered, unregistered;
    for (const auto& e : events) {
      if (e.kind == "region") {
        registered.push_back(e.pointer);
        EXPECT_GE(e.size, sizeof(TestTensor)) << c.to_string();
      }
      if (e.kind == "region_unregister") unregistered.push_back(e.pointer);
    }
    ASSERT_EQ(registered.size(), 2U);
    ASSERT_EQ(unregistered.size(), 2U);
    EXPECT_NE(registered[0], registered[1]);  // two slots, two boundaries
    EXPECT_EQ(unregistered[0], registered[0]);
    EXPECT_EQ(unregistered[1], registered[1]);
    // A failed store registers nothing.
    nvtx_capture::reset();
    (void)m.free(a);
    EXPECT_EQ(nvtx_capture::count("region_unregister"), 0U) << "double free unregistered a region";
  }
}

TEST_F(Nvtx, EachPoolIsAHeapForItsLifetime) {
  for (MemoryClass c : kClasses) {
    {
      auto m = make_manager<TestTensor>(c, named("heap", 8)).value();
      ASSERT_EQ(nvtx_capture::count("heap"), 1U) << c.to_string();
      const auto heap = nvtx_capture::events().front();
      EXPECT_GE(heap.size, 8 * sizeof(TestTensor)) << c.to_string();
      EXPECT_EQ(heap.category, category(c));
      const MessageToken t = m.store(message(1)).value();
      const void* last_region = nullptr;
      for (const auto& e : nvtx_capture::events()) {
        if (e.kind == "region") last_region = e.pointer;
      }
      ASSERT_NE(last_region, nullptr);
      const auto* region = static_cast<const char*>(last_region);
      const auto* base = static_cast<const char*>(heap.pointer);
      EXPECT_TRUE(region >= base && region < base + heap.size) << "region outside its heap";
      (void)t;
    }
    EXPECT_EQ(nvtx_capture::count("heap_reset"), 1U) << c.to_string();
    EXPECT_EQ(nvtx_capture::count("heap_unregister"), 1U) << c.to_string();
    nvtx_capture::reset();
  }
}

TEST_F(Nvtx, DeviceCopiesAndPrefetchesAreRanges) {
  auto device = make_manager<TestTensor>(MemoryClass::device(0), named("dev")).value();
  const MessageToken t = device.store(message(1)).value();
  { auto r = device.read(t).value(); }
  { auto w = device.read_mut(t).value(); }
  EXPECT_EQ(nvtx_capture::count("push", "dev/copy_h2d"), 2U);  // the store and the write-back
  EXPECT_EQ(nvtx_capture::count("push", "dev/copy_d2h"), 2U);  // the read and the write guard
  auto shared = make_manager<TestTensor>(MemoryClass::shared(), named("sh")).value();
  const MessageToken s = shared.store(message(1)).value();
  { auto r = shared.read(s).value(); }
  EXPECT_EQ(nvtx_capture::count("push", "sh/prefetch"), 1U);
}

TEST_F(Nvtx, WaitingForInFlightWorkIsASyncRange) {
  if (!runtime_info().fallback_active) GTEST_SKIP() << "held events drive the CPU fallback";
  DeviceManager<TestTensor> m(named("inflight"));
  const MessageToken t = m.store(message(1)).value();
  fault_injection::hold_events(true);
  { auto lease = m.lease(t).value(); }
  fault_injection::release_events();
  { auto r = m.read(t).value(); }
  EXPECT_EQ(nvtx_capture::count("push", "inflight/lease_end"), 1U);
  EXPECT_EQ(nvtx_capture::count("push", "inflight/sync"), 1U);
}

TEST_F(Nvtx, ErrorsAreMarked) {
  auto m = make_manager<TestTensor>(MemoryClass::device(0), named("errors", 1)).value();
  const MessageToken t = m.store(message(1)).value();
  (void)m.store(message(2));
  EXPECT_EQ(nvtx_capture::count("mark", std::string(to_string(MemoryError::NoFreeSlots))), 1U);
  if (!runtime_info().fallback_active) return;  // the rest injects faults into the fallback
  fault_injection::inject_faults(fault_injection::FaultKind::Copy, 1);
  (void)m.read(t);
  EXPECT_EQ(nvtx_capture::count("mark", std::string(to_string(MemoryError::DeviceError))), 1U);
  {
    auto w = m.read_mut(t).value();
    fault_injection::inject_faults(fault_injection::FaultKind::Copy, 1);
  }
  EXPECT_EQ(nvtx_capture::count("mark", std::string(to_string(MemoryError::Poisoned))), 1U);
}

TEST_F(Nvtx, HostManagersUseTheirNamesToo) {
  StaticManager<TestTensor, 2> fixed(MemoryClass::host(), "fixed");
  ConcurrentManager<TestTensor> shared(2, MemoryClass::host(), "conc");
  const MessageToken a = fixed.store(message(1)).value();
  const MessageToken b = shared.scoped_handle().store(message(1)).value();
  ASSERT_TRUE(fixed.free(a).has_value());
  ASSERT_TRUE(shared.free(b).has_value());
  EXPECT_EQ(nvtx_capture::count("push", "fixed/store"), 1U);
  EXPECT_EQ(nvtx_capture::count("push", "conc/store"), 1U);
  EXPECT_EQ(nvtx_capture::count("push", "conc/free"), 1U);
  EXPECT_EQ(nvtx_capture::count("region"), 2U);
  EXPECT_EQ(nvtx_capture::count("region_unregister"), 2U);
}

#else

TEST(Nvtx, CompiledOut) {
  GTEST_SKIP() << "limen was built without NVTX (LIMEN_NVTX=OFF or no NVTX headers): "
                  "annotations compile to nothing";
}

#endif

}  // namespace
}  // namespace limen::test
