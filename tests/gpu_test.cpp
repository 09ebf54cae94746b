// SPDX-License-Identifier: Apache-2.0
// Tests that need a real GPU (label "gpu"). Each skips, saying why, when the
// CUDA probe found no usable device; on a GPU machine they check the real
// allocations and mappings, that host reads wait for kernels (leased on a
// second stream, so removing the wait would make them fail), that host access
// never waits for unrelated kernels, that the hot path makes no allocation
// call, and what a sticky error does.
#include "gpu_kernels.hpp"
#include "test_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <cuda_runtime_api.h>
#include <cupti.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace limen::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

#define LIMEN_REQUIRE_GPU()                                                        \
  do {                                                                             \
    if (runtime_info().fallback_active) {                                          \
      GTEST_SKIP() << "no usable CUDA device: " << runtime_info().fallback_reason; \
    }                                                                              \
  } while (0)

constexpr std::uint64_t kMillisecond = 1'000'000;  // in nanoseconds

ManagerConfig gpu_config(std::size_t capacity = 64) {
  ManagerConfig c;
  c.capacity = capacity;
  c.fallback = Fallback::Fail;  // a GPU test must never pass on the CPU fallback
  c.name = "gpu-test";
  return c;
}

cudaPointerAttributes attributes_of(const void* p) {
  cudaPointerAttributes attr{};
  EXPECT_EQ(cudaPointerGetAttributes(&attr, p), cudaSuccess);
  return attr;
}

/// A non-blocking stream of the test's own: leases on it are ordered only by limen's events.
class SideStream {
 public:
  SideStream() {
    EXPECT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
  }
  ~SideStream() {
    (void)cudaStreamSynchronize(stream_);
    (void)cudaStreamDestroy(stream_);
  }
  SideStream(const SideStream&) = delete;
  SideStream& operator=(const SideStream&) = delete;
  [[nodiscard]] StreamHandle handle() const noexcept { return StreamHandle{stream_}; }

 private:
  cudaStream_t stream_ = nullptr;
};

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

TEST(Gpu, RuntimeInfoNamesTheDevices) {
  LIMEN_REQUIRE_GPU();
  const RuntimeInfo& info = runtime_info();
  EXPECT_TRUE(info.cuda_compiled);
  EXPECT_GT(info.driver_version, 0);
  ASSERT_GT(info.device_count, 0);
  EXPECT_FALSE(info.devices[0].name.empty());
  EXPECT_TRUE(info.fallback_reason.empty());
  EXPECT_FALSE(info.device_lost(0).has_value());
}

TEST(Gpu, PinnedSlotsArePageLockedAndMapped) {
  LIMEN_REQUIRE_GPU();
  PinnedManager<TestTensor> m(gpu_config());
  EXPECT_FALSE(m.emulated());
  const MessageToken t = m.store(message(3)).value();
  auto guard = m.read(t).value();
  const cudaPointerAttributes attr = attributes_of(guard.get());
  EXPECT_EQ(attr.type, cudaMemoryTypeHost);
  EXPECT_NE(attr.devicePointer, nullptr) << "pinned slots must be mapped into the device space";
}

TEST(Gpu, SharedSlotsAreManagedMemory) {
  LIMEN_REQUIRE_GPU();
  SharedManager<TestTensor> m(gpu_config());
  EXPECT_FALSE(m.emulated());
  const MessageToken t = m.store(message(4)).value();
  auto guard = m.read(t).value();
  EXPECT_EQ(attributes_of(guard.get()).type, cudaMemoryTypeManaged);
  EXPECT_EQ(guard->payload, tensor(4));
  EXPECT_EQ(m.stats().synchronizations, 1U);  // the prefetch before the read
}

TEST(Gpu, DeviceSlotsRoundTripThroughRealCopies) {
  LIMEN_REQUIRE_GPU();
  DeviceManager<TestTensor> m(gpu_config());
  EXPECT_FALSE(m.emulated());
  const MessageToken t = m.store(message(5)).value();
  EXPECT_EQ(m.stats().synchronizations, 0U) << "a store must not wait for the GPU";
  { m.read_mut(t).value()->payload.data[8] = 50; }
  auto guard = m.read(t).value();
  // The guard points into pinned host memory (the shadow), never device memory.
  EXPECT_EQ(attributes_of(guard.get()).type, cudaMemoryTypeHost);
  EXPECT_EQ(attributes_of(m.device_view().base()).type, cudaMemoryTypeDevice);
  EXPECT_EQ(guard->payload.data[8], 50U);
  EXPECT_EQ(guard->payload.data[0], 5U);
  EXPECT_GT(m.stats().bytes_device_to_host, 0U);
}

TEST(Gpu, OverAlignedSlotsAreAlignedOnTheDevice) {
  LIMEN_REQUIRE_GPU();
  struct alignas(512) Wide {
    std::uint32_t v;
  };
  DeviceManager<Wide> m(gpu_config(4));
  const MessageToken t = m.store(Message<Wide>(Wide{1})).value();
  auto lease = m.lease(t).value();
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(lease.device_ptr()) % 512, 0U);
}

// --- Kernels on leased slots --------------------------------------------------

template <class M>
class GpuLeases : public ::testing::Test {};
using LeasedManagers = ::testing::Types<PinnedManager<TestTensor>, DeviceManager<TestTensor>,
                                        SharedManager<TestTensor>>;
TYPED_TEST_SUITE(GpuLeases, LeasedManagers);

TYPED_TEST(GpuLeases, HostReadWaitsForAKernelWritingThroughTheView) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config());
  SideStream side;
  const MessageToken t = m.store(message(1)).value();
  {
    auto lease = m.lease(t, side.handle()).value();
    // Spin first: the write lands long after the host would read without the wait.
    ASSERT_EQ(kernels::spin(50 * kMillisecond, lease.stream()), 0);
    ASSERT_EQ(kernels::fill_through_view(m.device_view(), t.index(), 77, lease.stream()), 0);
  }
  // No synchronization by the caller: the read waits for the lease's event.
  EXPECT_EQ(m.read(t).value()->payload, tensor(77));
}

TYPED_TEST(GpuLeases, HostWriteGuardWaitsForAKernelWritingThroughTheLease) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config());
  SideStream side;
  const MessageToken t = m.store(message(1)).value();
  {
    auto lease = m.lease(t, side.handle()).value();
    ASSERT_EQ(kernels::spin_then_fill(lease.device_ptr(), 88, 50 * kMillisecond, lease.stream()),
              0);
  }
  EXPECT_EQ(m.read_mut(t).value()->payload, tensor(88));
}

TYPED_TEST(GpuLeases, HostAccessNeverWaitsForAKernelOnAnotherSlot) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config());
  SideStream side;
  const MessageToken a = m.store(message(1)).value();
  const MessageToken b = m.store(message(2)).value();
  {
    auto lease = m.lease(b, side.handle()).value();
    ASSERT_EQ(kernels::spin_then_fill(lease.device_ptr(), 9, 300 * kMillisecond, lease.stream()),
              0);
  }
  const auto start = Clock::now();
  EXPECT_EQ(m.read(a).value()->payload, tensor(1));
  { m.read_mut(a).value()->payload.data[0] = 3; }
  const MessageToken c = m.store(message(3)).value();
  EXPECT_EQ(m.read(c).value()->payload, tensor(3));
  EXPECT_LT(Clock::now() - start, 100ms) << "host access to a and c waited for b's kernel";
  EXPECT_EQ(m.read(b).value()->payload, tensor(9));
}

TYPED_TEST(GpuLeases, StreamOrderedFreeDoesNotHandTheSlotOutEarly) {
  LIMEN_REQUIRE_GPU();
  ManagerConfig c = gpu_config(1);
  c.wait_for_pending_frees = false;
  TypeParam m(c);
  SideStream side;
  const MessageToken t = m.store(message(1)).value();
  {
    auto lease = m.lease(t, side.handle()).value();
    ASSERT_EQ(kernels::spin_then_fill(lease.device_ptr(), 5, 300 * kMillisecond, lease.stream()),
              0);
  }
  const auto start = Clock::now();
  ASSERT_TRUE(m.free(t).has_value());
  EXPECT_LT(Clock::now() - start, 100ms) << "free must not wait for the kernel";
  // Polling the kernel's event (NotReady) must not leave an error behind for the caller.
  EXPECT_EQ(m.available(), 0U);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "cudaErrorNotReady leaked to the caller";
  LIMEN_EXPECT_ERROR(m.store(message(2)), MemoryError::NoFreeSlots);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(side.handle().native()), cudaSuccess);
  EXPECT_EQ(m.available(), 1U) << "a pending slot whose work completed must be available";
  const MessageToken again = m.store(message(3)).value();
  EXPECT_EQ(again.index(), t.index());
  EXPECT_EQ(m.read(again).value()->payload, tensor(3));
}

TYPED_TEST(GpuLeases, StoreWaitsForTheKernelWhenAllowed) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config(1));  // wait_for_pending_frees defaults to true
  SideStream side;
  const MessageToken t = m.store(message(1)).value();
  {
    auto lease = m.lease(t, side.handle()).value();
    ASSERT_EQ(kernels::spin_then_fill(lease.device_ptr(), 5, 200 * kMillisecond, lease.stream()),
              0);
  }
  const auto start = Clock::now();
  ASSERT_TRUE(m.free(t).has_value());
  const MessageToken again = m.store(message(3)).value();
  EXPECT_GT(Clock::now() - start, 100ms);
  EXPECT_EQ(again.index(), t.index());
  EXPECT_EQ(m.read(again).value()->payload, tensor(3));  // the kernel's late write came before
  // The next launch's error check sees only its own launch (nothing left behind by limen).
  ASSERT_EQ(kernels::spin(1000, side.handle()), 0);
}

TYPED_TEST(GpuLeases, DestructionWaitsForKernelsOnOtherStreams) {
  LIMEN_REQUIRE_GPU();
  SideStream side;
  auto m = std::make_unique<TypeParam>(gpu_config(2));
  const MessageToken t = m->store(message(1)).value();
  {
    auto lease = m->lease(t, side.handle()).value();
    ASSERT_EQ(kernels::spin_then_fill(lease.device_ptr(), 5, 200 * kMillisecond, lease.stream()),
              0);
  }
  ASSERT_TRUE(m->free(t).has_value());  // pending
  const auto start = Clock::now();
  m.reset();  // must not release memory the kernel still writes
  EXPECT_GT(Clock::now() - start, 100ms) << "the manager was destroyed under a running kernel";
  EXPECT_EQ(cudaStreamSynchronize(side.handle().native()), cudaSuccess);
}

TYPED_TEST(GpuLeases, LeasesOnACapturingStreamAreRefused) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config());
  SideStream side;
  const MessageToken t = m.store(message(1)).value();
  ASSERT_EQ(cudaStreamBeginCapture(side.handle().native(), cudaStreamCaptureModeRelaxed),
            cudaSuccess);
  LIMEN_EXPECT_ERROR(m.lease(t, side.handle()), MemoryError::Unsupported);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(side.handle().native(), &graph), cudaSuccess);
  (void)cudaGraphDestroy(graph);
  EXPECT_EQ(m.read(t).value()->payload, tensor(1));  // the refusal changed nothing
}

TYPED_TEST(GpuLeases, ALeaseEndedDuringCaptureOrdersAfterTheGraph) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config());
  SideStream side;
  const MessageToken t = m.store(message(1)).value();
  cudaGraph_t graph = nullptr;
  {
    auto lease = m.lease(t, side.handle()).value();
    ASSERT_EQ(cudaStreamBeginCapture(side.handle().native(), cudaStreamCaptureModeRelaxed),
              cudaSuccess);
    ASSERT_EQ(kernels::spin_then_fill(lease.device_ptr(), 6, 50 * kMillisecond, lease.stream()), 0);
  }  // ends during capture: an external event node in the graph
  ASSERT_EQ(cudaStreamEndCapture(side.handle().native(), &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, side.handle().native()), cudaSuccess);
  EXPECT_EQ(m.read(t).value()->payload, tensor(6)) << "the read did not wait for the graph";
  ASSERT_TRUE(m.free(t).has_value());
  (void)cudaGraphExecDestroy(exec);
  (void)cudaGraphDestroy(graph);
}

// --- Batches on a GPU ------------------------------------------------------------------

std::uint64_t expected_sum(const std::vector<Message<TestTensor>>& messages) {
  std::uint64_t sum = 0;
  for (const auto& m : messages) {
    for (auto v : m.payload.data) sum += v;
  }
  return sum;
}

/// Device memory of the test's own, for kernel inputs and outputs.
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(std::size_t n) { EXPECT_EQ(cudaMalloc(&p_, n * sizeof(T)), cudaSuccess); }
  ~DeviceArray() { (void)cudaFree(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* get() const { return static_cast<T*>(p_); }
  T read_back(StreamHandle s, std::size_t i = 0) const {
    T value{};
    EXPECT_EQ(cudaMemcpyAsync(&value, get() + i, sizeof(T), cudaMemcpyDeviceToHost, s.native()),
              cudaSuccess);
    EXPECT_EQ(cudaStreamSynchronize(s.native()), cudaSuccess);
    return value;
  }

 private:
  void* p_ = nullptr;
};

template <class M>
class GpuBatches : public ::testing::Test {};
using BatchManagers = ::testing::Types<DeviceManager<TestTensor>, PinnedManager<TestTensor>,
                                       SharedManager<TestTensor>>;
TYPED_TEST_SUITE(GpuBatches, BatchManagers);

TYPED_TEST(GpuBatches, ABatchStagedForAKernelOnASecondStream) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config(256));
  SideStream side;
  std::vector<Message<TestTensor>> messages;
  for (std::uint32_t i = 0; i < 200; ++i) messages.push_back(message(i * 3 + 1));
  const auto tokens = m.store_batch(messages, side.handle()).value();
  std::vector<std::uint32_t> indices;
  for (MessageToken t : tokens) indices.push_back(t.index());
  DeviceArray<std::uint32_t> device_indices(indices.size());
  ASSERT_EQ(cudaMemcpyAsync(device_indices.get(), indices.data(), indices.size() * 4,
                            cudaMemcpyHostToDevice, side.handle().native()),
            cudaSuccess);
  DeviceArray<std::uint64_t> sum(1);
  // Same stream: the kernel sees the batch without any synchronization.
  ASSERT_EQ(kernels::checksum_slots(m.device_view(), device_indices.get(), indices.size(),
                                    sum.get(), side.handle()),
            0);
  EXPECT_EQ(sum.read_back(side.handle()), expected_sum(messages));
  EXPECT_EQ(m.read(tokens[199]).value()->payload, tensor(199 * 3 + 1));
}

TYPED_TEST(GpuBatches, GatherFeedsAKernelAndScatterWritesBack) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config(64));
  SideStream side;
  std::vector<Message<TestTensor>> messages;
  std::vector<MessageToken> tokens;
  for (std::uint32_t i = 0; i < 40; ++i) {
    messages.push_back(message(i + 7));
    tokens.push_back(m.store(messages.back()).value());
  }
  DeviceArray<TestTensor> gathered(tokens.size());
  ASSERT_TRUE(m.gather(tokens, gathered.get(), side.handle()).has_value());
  DeviceArray<std::uint64_t> sum(1);
  ASSERT_EQ(kernels::checksum_items(gathered.get(), tokens.size(), sum.get(), side.handle()), 0);
  EXPECT_EQ(sum.read_back(side.handle()), expected_sum(messages));
  // Back the other way: new payloads from device memory into the slots.
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    ASSERT_EQ(kernels::fill_through_pointer(gathered.get() + i, static_cast<std::uint32_t>(500 + i),
                                            side.handle()),
              0);
  }
  ASSERT_TRUE(m.scatter(gathered.get(), tokens, side.handle()).has_value());
  for (std::size_t i = 0; i < tokens.size(); ++i) {  // each read waits for the scatter
    EXPECT_EQ(m.read(tokens[i]).value()->payload, tensor(static_cast<std::uint32_t>(500 + i)));
  }
}

// --- Streams, waiting, allocation -----------------------------------------------

TEST(Gpu, ABorrowedLegacyStreamIsNeverUsedForCopies) {
  LIMEN_REQUIRE_GPU();
  ManagerConfig c = gpu_config();
  c.stream = StreamHandle{};  // the legacy default stream: it waits for every blocking stream
  DeviceManager<TestTensor> m(c);
  const MessageToken t = m.store(message(1)).value();
  cudaStream_t blocking = nullptr;
  ASSERT_EQ(cudaStreamCreate(&blocking), cudaSuccess);
  ASSERT_EQ(kernels::spin(300 * kMillisecond, StreamHandle{blocking}), 0);
  const auto start = Clock::now();
  EXPECT_EQ(m.read(t).value()->payload, tensor(1));
  (void)m.store(message(2)).value();
  EXPECT_LT(Clock::now() - start, 100ms) << "guard copies ran on the legacy default stream";
  (void)cudaStreamSynchronize(blocking);
  (void)cudaStreamDestroy(blocking);
}

/// CPU time the calling thread spends reading a slot whose 300 ms kernel is running.
double cpu_seconds_waiting(HostWait wait) {
  ManagerConfig c = gpu_config();
  c.host_wait = wait;
  DeviceManager<TestTensor> m(c);
  SideStream side;
  const MessageToken t = m.store(message(1)).value();
  {
    auto lease = m.lease(t, side.handle()).value();
    EXPECT_EQ(kernels::spin_then_fill(lease.device_ptr(), 2, 300 * kMillisecond, lease.stream()),
              0);
  }
  const double before = cpu_seconds();
  EXPECT_EQ(m.read(t).value()->payload, tensor(2));
  return cpu_seconds() - before;
}

TEST(Gpu, BlockingWaitsDoNotBurnACore) {
  LIMEN_REQUIRE_GPU();
  EXPECT_LT(cpu_seconds_waiting(HostWait::Block), 0.1);
  // The control: a spinning wait does burn the core (so the measure can fail).
  EXPECT_GT(cpu_seconds_waiting(HostWait::Spin), 0.15);
}

// --- The hot path makes no allocation call (counted with CUPTI callbacks) ---

std::atomic<int> allocation_calls{0};
std::atomic<int> plain_malloc_calls{0};

void CUPTIAPI count_allocations(void*, CUpti_CallbackDomain domain, CUpti_CallbackId id,
                                const void* data) {
  const auto* info = static_cast<const CUpti_CallbackData*>(data);
  if (domain != CUPTI_CB_DOMAIN_RUNTIME_API || info->callbackSite != CUPTI_API_ENTER) return;
  switch (id) {
    case CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020:
      plain_malloc_calls.fetch_add(1);
      allocation_calls.fetch_add(1);
      break;
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocPitch_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocHost_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaHostAlloc_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocManaged_v6000:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocAsync_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMemPoolCreate_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocFromPoolAsync_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaEventCreate_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaEventCreateWithFlags_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaStreamCreate_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaStreamCreateWithFlags_v5000:
      allocation_calls.fetch_add(1);
      break;
    default: break;
  }
}

/// Subscribes to runtime API callbacks for its lifetime.
class AllocationCounter {
 public:
  AllocationCounter() {
    allocation_calls.store(0);
    plain_malloc_calls.store(0);
    ok_ = cuptiSubscribe(&subscriber_, reinterpret_cast<CUpti_CallbackFunc>(&count_allocations),
                         nullptr) == CUPTI_SUCCESS &&
          cuptiEnableDomain(1, subscriber_, CUPTI_CB_DOMAIN_RUNTIME_API) == CUPTI_SUCCESS;
  }
  ~AllocationCounter() {
    if (subscriber_ != nullptr) (void)cuptiUnsubscribe(subscriber_);
  }
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;
  [[nodiscard]] bool ok() const noexcept { return ok_; }

 private:
  CUpti_SubscriberHandle subscriber_ = nullptr;
  bool ok_ = false;
};

template <class M>
void exercise_hot_path(M& m) {
  for (std::uint32_t i = 0; i < 200; ++i) {
    const MessageToken t = m.store(message(i)).value();
    { auto r = m.read(t).value(); }
    { m.read_mut(t).value()->payload.data[0] = i + 1; }
    { auto h = m.peek_header(t).value(); }
    { auto lease = m.lease(t).value(); }
    { auto r = m.read(t).value(); }  // waits for the lease's event
    ASSERT_TRUE(m.free(t).has_value());
  }
}

TEST(Gpu, HotPathMakesNoAllocationCall) {
  LIMEN_REQUIRE_GPU();
  AllocationCounter counter;
  ASSERT_TRUE(counter.ok()) << "CUPTI subscription failed (is another profiler attached?)";
  PinnedManager<TestTensor> pinned(gpu_config());
  DeviceManager<TestTensor> device(gpu_config());
  SharedManager<TestTensor> shared(gpu_config());
  // Construction allocates: this also proves the counter sees allocation calls.
  EXPECT_GT(allocation_calls.load(), 0);
  allocation_calls.store(0);
  exercise_hot_path(pinned);
  exercise_hot_path(device);
  exercise_hot_path(shared);
  EXPECT_EQ(allocation_calls.load(), 0) << "store/read/read_mut/peek_header/free allocated";
}

TEST(Gpu, DeviceMemoryWithoutPoolsUsesOnePlainAllocation) {
  LIMEN_REQUIRE_GPU();
  AllocationCounter counter;
  ASSERT_TRUE(counter.ok());
  fault_injection::disable_memory_pools(true);
  DeviceManager<TestTensor> m(gpu_config());
  fault_injection::disable_memory_pools(false);
  EXPECT_EQ(plain_malloc_calls.load(), 1);
  const MessageToken t = m.store(message(4)).value();
  EXPECT_EQ(m.read(t).value()->payload, tensor(4));
  EXPECT_EQ(attributes_of(m.device_view().base()).type, cudaMemoryTypeDevice);
}

// --- A sticky error: the device is lost to the process ---------------------------

/// Runs in a child process (a faulting kernel poisons the whole CUDA context).
[[noreturn]] void lose_the_device() {
  DeviceManager<TestTensor> m(gpu_config(4));
  const MessageToken a = m.store(message(1)).value();
  const MessageToken b = m.store(message(2)).value();
  {
    auto lease = m.lease(a).value();
    if (kernels::fault_illegal_address(lease.stream()) != 0) std::exit(2);
  }
  auto read = m.read(a);
  const auto cause = m.last_device_error();
  const bool lost_read = !read && read.error() == MemoryError::DeviceError;
  const bool named = cause && cause->code == 700;  // cudaErrorIllegalAddress
  const bool store_fails = !m.store(message(3)) && !m.read(b);
  const bool frees_complete = m.free(a).has_value() && m.free(b).has_value();
  const bool reported = runtime_info().device_lost(0).has_value();
  const bool drained = m.available() == m.capacity();
  std::exit(lost_read && named && store_fails && frees_complete && reported && drained ? 0 : 3);
}

TEST(GpuDeathTest, AStickyErrorMarksTheDeviceLost) {
  LIMEN_REQUIRE_GPU();
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: CUDA and fork don't mix
  EXPECT_EXIT(lose_the_device(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace limen::test
