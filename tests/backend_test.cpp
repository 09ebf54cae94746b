// SPDX-License-Identifier: Apache-2.0
// Pinned, device and shared managers: copies and their counters, the CPU
// fallback, construction errors, injected CUDA failures, make_manager.
#include "device_work.hpp"
#include "test_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace limen::test {
namespace {

constexpr std::uint64_t kPayload = sizeof(TestTensor);

ManagerConfig config(std::size_t capacity = 4) {
  ManagerConfig c;
  c.capacity = capacity;
  c.name = "backend-test";
  return c;
}

/// Clears injected faults around each test, so one test's leftovers never hit another.
class Backends : public ::testing::Test {
 protected:
  void SetUp() override { fault_injection::clear_faults(); }
  void TearDown() override { fault_injection::clear_faults(); }
};

// A store or a write-back never waits for the GPU (an async copy and an event);
// host access waits once, for its own copy: a store + read round trip costs one sync.
TEST_F(Backends, DeviceCopiesOncePerReadAndTwicePerWriteWithOneWaitPerAccess) {
  DeviceManager<TestTensor> m(config());
  const MessageToken t = m.store(message(1)).value();
  ManagerStats s = m.stats();
  EXPECT_EQ(s.bytes_host_to_device, kPayload);  // the store put the payload on the device
  EXPECT_EQ(s.bytes_device_to_host, 0U);
  EXPECT_EQ(s.synchronizations, 0U) << "a store must not wait for the GPU";
  {
    auto a = m.read(t).value();
    auto b = m.read(t).value();  // shares the first reader's fresh shadow: no second copy
    EXPECT_EQ(b->payload, tensor(1));
    s = m.stats();
    EXPECT_EQ(s.bytes_device_to_host, kPayload);
    EXPECT_EQ(s.synchronizations, 1U) << "store + read must cost one host wait";
  }
  { auto again = m.read(t).value(); }  // the shadow went stale with the last reader
  EXPECT_EQ(m.stats().bytes_device_to_host, 2 * kPayload);
  { m.read_mut(t).value()->payload.data[0] = 5; }  // copy in, then write back
  s = m.stats();
  EXPECT_EQ(s.bytes_device_to_host, 3 * kPayload);
  EXPECT_EQ(s.bytes_host_to_device, 2 * kPayload);
  EXPECT_EQ(s.synchronizations, 3U) << "the write-back must not wait for the GPU";
}

TEST_F(Backends, DeviceWriteBackReachesDeviceMemory) {
  DeviceManager<TestTensor> m(config());
  const MessageToken t = m.store(message(1)).value();
  { m.read_mut(t).value()->payload.data[3] = 77; }
  // Another message through the same shadow slot in between must not matter:
  // the next read copies from device memory again.
  auto r = m.read(t).value();
  EXPECT_EQ(r->payload.data[3], 77U);
  EXPECT_EQ(r->payload.data[0], 1U);
}

TEST_F(Backends, PeekHeaderNeverTouchesTheDevice) {
  DeviceManager<TestTensor> m(config());
  const MessageToken t = m.store(message(1, 99)).value();
  const ManagerStats before = m.stats();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(m.peek_header(t).value()->trace_id, 99U);
  EXPECT_EQ(m.stats(), before);
}

TEST_F(Backends, HeaderChangesThroughAWriteGuardReachPeekHeader) {
  DeviceManager<TestTensor> m(config());
  const MessageToken t = m.store(message(1)).value();
  { m.read_mut(t).value()->header.sequence = 42; }
  EXPECT_EQ(m.peek_header(t).value()->sequence, 42U);
  EXPECT_EQ(m.read(t).value()->header.sequence, 42U);
}

TEST_F(Backends, PinnedGuardsAreZeroCopy) {
  PinnedManager<TestTensor> m(config());
  const MessageToken t = m.store(message(2)).value();
  { m.read_mut(t).value()->payload.data[0] = 3; }
  EXPECT_EQ(m.read(t).value()->payload.data[0], 3U);
  const ManagerStats s = m.stats();
  EXPECT_EQ(s.bytes_host_to_device + s.bytes_device_to_host, 0U);
  EXPECT_EQ(s.synchronizations, 0U);
}

TEST_F(Backends, SharedGuardsPrefetchBeforeAccess) {
  SharedManager<TestTensor> m(config());
  const MessageToken t = m.store(message(2)).value();
  {
    auto a = m.read(t).value();
    auto b = m.read(t).value();
  }  // one prefetch for both
  EXPECT_EQ(m.stats().synchronizations, 1U);
  { m.read_mut(t).value()->payload.data[0] = 3; }
  EXPECT_EQ(m.stats().synchronizations, 2U);
  EXPECT_EQ(m.stats().bytes_device_to_host, 0U);  // managed memory migrates, it is not copied
}

TEST_F(Backends, ABorrowedStreamIsTheOneLeasesUse) {
  const TestStream borrowed;
  ManagerConfig c = config();
  c.stream = borrowed.handle();
  DeviceManager<TestTensor> m(c);
  EXPECT_EQ(m.stream(), borrowed.handle());
  const MessageToken t = m.store(message(1)).value();
  EXPECT_EQ(m.lease(t).value().stream(), borrowed.handle());
}

TEST_F(Backends, FallbackIsReportedWithAReason) {
  const RuntimeInfo& info = runtime_info();
  if (!info.fallback_active) GTEST_SKIP() << "a CUDA device is present: no fallback to report";
  EXPECT_FALSE(info.fallback_reason.empty());
#if LIMEN_HAVE_CUDA
  EXPECT_TRUE(info.cuda_compiled);
  EXPECT_GT(info.runtime_version, 0);
  EXPECT_NE(info.fallback_reason.find("cudaGetDeviceCount"), std::string::npos)
      << info.fallback_reason;
#else
  EXPECT_FALSE(info.cuda_compiled);
  EXPECT_NE(info.fallback_reason.find("without the CUDA runtime"), std::string::npos)
      << info.fallback_reason;
#endif
  EXPECT_EQ(info.device_count, 0);
  EXPECT_TRUE(DeviceManager<TestTensor>(config()).emulated());
  EXPECT_TRUE(PinnedManager<TestTensor>(config()).emulated());
  EXPECT_TRUE(SharedManager<TestTensor>(config()).emulated());
}

// Headers and library read one configuration: a LIMEN_HAVE_* macro read before
// <limen/config.hpp> defined it was silently 0 once, and a CUDA build then
// never chose its GPU backend. Every class runs where runtime_info() says.
TEST_F(Backends, EveryClassRunsWhereTheRuntimeSays) {
  const RuntimeInfo& info = runtime_info();
  EXPECT_EQ(info.cuda_compiled, LIMEN_HAVE_CUDA != 0);
  EXPECT_EQ(cpu_device::active(), info.fallback_active);
  EXPECT_EQ(PinnedManager<TestTensor>(config()).emulated(), info.fallback_active);
  EXPECT_EQ(DeviceManager<TestTensor>(config()).emulated(), info.fallback_active);
  EXPECT_EQ(SharedManager<TestTensor>(config()).emulated(), info.fallback_active);
  EXPECT_EQ(make_manager<TestTensor>(MemoryClass::device(0), config()).value().emulated(),
            info.fallback_active);
  EXPECT_EQ(PinnedBufferPool().emulated(), info.fallback_active);
}

TEST_F(Backends, RuntimeInfoIsProbedOnceForAllThreads) {
  const RuntimeInfo* seen[4] = {};
  std::thread threads[4];
  for (int i = 0; i < 4; ++i) threads[i] = std::thread([&seen, i] { seen[i] = &runtime_info(); });
  for (auto& t : threads) t.join();
  for (auto* p : seen) EXPECT_EQ(p, &runtime_info());
}

TEST_F(Backends, FallbackFailTurnsTheFallbackIntoUnsupported) {
  if (!runtime_info().fallback_active) GTEST_SKIP() << "a CUDA device is present";
  ManagerConfig c = config();
  c.fallback = Fallback::Fail;
  LIMEN_EXPECT_ERROR(DeviceManager<TestTensor>::create(c), MemoryError::Unsupported);
  LIMEN_EXPECT_ERROR(PinnedManager<TestTensor>::create(c), MemoryError::Unsupported);
  LIMEN_EXPECT_ERROR(make_manager<TestTensor>(MemoryClass::shared(), c), MemoryError::Unsupported);
  try {
    SharedManager<TestTensor> m(c);
    FAIL() << "construction must throw";
  } catch (const MemoryErrorException& e) {
    EXPECT_EQ(e.error(), MemoryError::Unsupported);
    EXPECT_NE(std::string(e.what()).find("no CUDA device"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(
      make_manager<TestTensor>(MemoryClass::host(), c).has_value());  // host never needs CUDA
}

TEST_F(Backends, DeviceOrdinalAbove15IsAClearError) {
  ManagerConfig c = config();
  c.device = 16;
  LIMEN_EXPECT_ERROR(DeviceManager<TestTensor>::create(c), MemoryError::Unsupported);
  LIMEN_EXPECT_ERROR(PinnedManager<TestTensor>::create(c), MemoryError::Unsupported);
  try {
    DeviceManager<TestTensor> m(c);
    FAIL() << "construction must throw";
  } catch (const MemoryErrorException& e) {
    EXPECT_NE(std::string(e.what()).find("device ordinal 16"), std::string::npos) << e.what();
  }
}

TEST_F(Backends, DeviceOrdinalBeyondTheDeviceCountIsAClearError) {
  const RuntimeInfo& info = runtime_info();
  if (info.fallback_active)
    GTEST_SKIP() << "CPU device: TheCpuDeviceServesTheOrdinalsItModels checks its ordinals";
  ManagerConfig c = config();
  c.device = static_cast<unsigned>(info.device_count);
  if (c.device > 15) GTEST_SKIP() << "16 devices: every valid ordinal exists";
  LIMEN_EXPECT_ERROR(DeviceManager<TestTensor>::create(c), MemoryError::Unsupported);
}

TEST_F(Backends, MakeManagerPicksTheClass) {
  for (MemoryClass c : {MemoryClass::host(), MemoryClass::pinned_host(), MemoryClass::device(0),
                        MemoryClass::shared()}) {
    auto m = make_manager<TestTensor>(c, config()).value();
    EXPECT_EQ(m.memory_class(), c);
    EXPECT_EQ(m.capacity(), 4U);
    const MessageToken t = m.store(message(4)).value();
    EXPECT_EQ(m.read(t).value()->payload, tensor(4));
    EXPECT_EQ(m.peek_header(t).value()->memory_class, c);
  }
}

TEST_F(Backends, TheCpuDeviceServesTheOrdinalsItModels) {
  if (!runtime_info().fallback_active) GTEST_SKIP() << "on a GPU the runtime's devices count";
  const unsigned devices = cpu_device::settings().devices;
  const unsigned last = devices - 1;
  auto m = make_manager<TestTensor>(MemoryClass::device(static_cast<std::uint8_t>(last)), config())
               .value();
  EXPECT_EQ(m.memory_class(), MemoryClass::device(static_cast<std::uint8_t>(last)));
  const MessageToken t = m.store(message(4)).value();
  EXPECT_EQ(m.peek_header(t).value()->memory_class,
            MemoryClass::device(static_cast<std::uint8_t>(last)));
  EXPECT_EQ(m.read(t).value()->payload, tensor(4));
  if (devices > 15) return;
  ManagerConfig beyond = config();
  beyond.device = devices;
  try {
    DeviceManager<TestTensor> refused(beyond);
    FAIL() << "an ordinal the CPU device does not model must be refused";
  } catch (const MemoryErrorException& e) {
    EXPECT_EQ(e.error(), MemoryError::Unsupported);
    EXPECT_NE(std::string(e.what()).find("LIMEN_CPU_DEVICES"), std::string::npos) << e.what();
  }
}

TEST_F(Backends, MakeManagerRefusesDeviceClassesForNonTrivialPayloads) {
  LIMEN_EXPECT_ERROR(make_manager<std::string>(MemoryClass::device(0), config()),
                     MemoryError::Unsupported);
  LIMEN_EXPECT_ERROR(make_manager<std::string>(MemoryClass::pinned_host(), config()),
                     MemoryError::Unsupported);
  auto host = make_manager<std::string>(MemoryClass::host(), config()).value();
  const MessageToken t = host.store(Message<std::string>("text")).value();
  EXPECT_EQ(host.read(t).value()->payload, "text");
}

// --- Injected CUDA failures (CPU fallback only) ------------------------------

class Faults : public Backends {
 protected:
  void SetUp() override {
    Backends::SetUp();
    if (!runtime_info().fallback_active) GTEST_SKIP() << "fault injection drives the CPU fallback";
  }
};

TEST_F(Faults, FailedWriteBackPoisonsOnlyThatSlot) {
  DeviceManager<TestTensor> m(config());
  const MessageToken keep = m.store(message(1)).value();
  const MessageToken hit = m.store(message(2)).value();
  {
    auto w = m.read_mut(hit).value();
    w->payload.data[0] = 9;
    fault_injection::inject_faults(fault_injection::FaultKind::Copy,
                                   1);  // the write-back will fail
  }
  LIMEN_EXPECT_ERROR(m.read(hit), MemoryError::Poisoned);
  LIMEN_EXPECT_ERROR(m.read_mut(hit), MemoryError::Poisoned);
  EXPECT_EQ(m.peek_header(hit).value()->trace_id, 0U);  // headers live on the host: still fine
  const auto error = m.last_device_error();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, 999);
  EXPECT_NE(error->call.find("cudaMemcpyAsync"), std::string::npos);
  EXPECT_EQ(m.read(keep).value()->payload, tensor(1));  // the other message is intact
  ASSERT_TRUE(m.free(hit).has_value());                 // free still works
  EXPECT_EQ(m.available(), 3U);
  const MessageToken reused = m.store(message(3)).value();  // and the slot is clean again
  EXPECT_EQ(m.read(reused).value()->payload, tensor(3));
}

TEST_F(Faults, FailedReadCopyIsADeviceErrorAndLeavesTheSlotReadable) {
  DeviceManager<TestTensor> m(config());
  const MessageToken t = m.store(message(6)).value();
  fault_injection::inject_faults(fault_injection::FaultKind::Synchronize, 1);
  LIMEN_EXPECT_ERROR(m.read(t), MemoryError::DeviceError);
  { auto w = try_read_mut(m, t).value(); }           // the failed read left no guard behind
  EXPECT_EQ(m.read(t).value()->payload, tensor(6));  // and nothing poisoned
}

TEST_F(Faults, FailedStoreCopyLeaksNoSlot) {
  DeviceManager<TestTensor> m(config());
  fault_injection::inject_faults(fault_injection::FaultKind::Copy, 1);
  LIMEN_EXPECT_ERROR(m.store(message(1)), MemoryError::DeviceError);
  EXPECT_EQ(m.available(), 4U);
  EXPECT_EQ(m.stats().stores, 0U);
  for (std::uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(m.store(message(i)).has_value());
}

TEST_F(Faults, FailedAllocationFailsConstruction) {
  fault_injection::inject_faults(fault_injection::FaultKind::Allocation, 1);
  LIMEN_EXPECT_ERROR(PinnedManager<TestTensor>::create(config()), MemoryError::DeviceError);
  EXPECT_TRUE(PinnedManager<TestTensor>::create(config()).has_value());  // one fault, one failure
}

TEST_F(Faults, FailedPrefetchIsADeviceError) {
  SharedManager<TestTensor> m(config());
  const MessageToken t = m.store(message(1)).value();
  fault_injection::inject_faults(fault_injection::FaultKind::Copy, 1);
  LIMEN_EXPECT_ERROR(m.read(t), MemoryError::DeviceError);
  EXPECT_EQ(m.read(t).value()->payload, tensor(1));
}

// A GPU without concurrent managed access (WSL2, Windows, some virtual GPUs),
// as the CPU device models it (ctest runs this with
// LIMEN_CPU_DEVICE_CONCURRENT_MANAGED=0): managed slots could fault whenever
// the host touched them while any kernel ran, so shared managers are refused
// with the reason; the other classes work.
TEST(ManagedWithoutConcurrentAccess, SharedManagersAreRefusedAndTheOtherClassesWork) {
  if (!cpu_device::active() || cpu_device::settings().concurrent_managed_access) {
    GTEST_SKIP() << "ctest runs this as ManagedWithoutConcurrentAccess, with "
                    "LIMEN_CPU_DEVICE_CONCURRENT_MANAGED=0";
  }
  ManagerConfig c;
  c.capacity = 4;
  try {
    SharedManager<TestTensor> m(c);
    ADD_FAILURE() << "a shared manager was built on a device without concurrent managed access";
  } catch (const MemoryErrorException& e) {
    EXPECT_EQ(e.error(), MemoryError::Unsupported);
    EXPECT_NE(std::string(e.what()).find("no concurrent managed access"), std::string::npos)
        << e.what();
  }
  LIMEN_EXPECT_ERROR(SharedManager<TestTensor>::create(c), MemoryError::Unsupported);
  DeviceManager<TestTensor> device(c);
  EXPECT_EQ(device.read(device.store(message(1)).value()).value()->payload, tensor(1));
  PinnedManager<TestTensor> pinned(c);
  EXPECT_EQ(pinned.read(pinned.store(message(2)).value()).value()->payload, tensor(2));
}

}  // namespace
}  // namespace limen::test
