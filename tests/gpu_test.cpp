// Tests that need a real GPU (label "gpu"). Each skips, saying why, when the
// CUDA probe found no usable device; on a GPU machine they check the real
// allocations, mappings and that the hot path makes no allocation call.
#include "../cuda/test_kernels.hpp"
#include "test_support.hpp"

#include <limen/limen.hpp>

#include <cuda_runtime_api.h>
#include <cupti.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>

namespace limen::test {
namespace {

#define LIMEN_REQUIRE_GPU()                                                        \
  do {                                                                             \
    if (runtime_info().fallback_active) {                                          \
      GTEST_SKIP() << "no usable CUDA device: " << runtime_info().fallback_reason; \
    }                                                                              \
  } while (0)

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

TEST(Gpu, RuntimeInfoNamesTheDevices) {
  LIMEN_REQUIRE_GPU();
  const RuntimeInfo& info = runtime_info();
  EXPECT_TRUE(info.cuda_compiled);
  EXPECT_GT(info.driver_version, 0);
  ASSERT_GT(info.device_count, 0);
  EXPECT_FALSE(info.devices[0].name.empty());
  EXPECT_TRUE(info.fallback_reason.empty());
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
  { m.read_mut(t).value()->payload.data[8] = 50; }
  auto guard = m.read(t).value();
  // The guard points into pinned host memory (the shadow), never device memory.
  EXPECT_EQ(attributes_of(guard.get()).type, cudaMemoryTypeHost);
  EXPECT_EQ(guard->payload.data[8], 50U);
  EXPECT_EQ(guard->payload.data[0], 5U);
  EXPECT_GT(m.stats().bytes_device_to_host, 0U);
}

// --- Kernels on leased slots: host reads wait for them, frees are stream-ordered ---

template <class M>
class GpuLeases : public ::testing::Test {};
using LeasedManagers = ::testing::Types<PinnedManager<TestTensor>, DeviceManager<TestTensor>,
                                        SharedManager<TestTensor>>;
TYPED_TEST_SUITE(GpuLeases, LeasedManagers);

TYPED_TEST(GpuLeases, KernelWritesThroughTheViewAndTheHostReadSeesIt) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config());
  const MessageToken t = m.store(message(1)).value();
  {
    auto lease = m.lease(t).value();
    ASSERT_EQ(cuda::testing::fill_through_view(m.device_view(), t.index(), 77, lease.stream()), 0);
  }
  // No explicit synchronization by the caller: the read waits for the lease's event.
  EXPECT_EQ(m.read(t).value()->payload, tensor(77));
}

TYPED_TEST(GpuLeases, KernelWritesThroughTheLeasePointer) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config());
  const MessageToken t = m.store(message(1)).value();
  {
    auto lease = m.lease(t).value();
    ASSERT_EQ(cuda::testing::fill_through_pointer(lease.device_ptr(), 88, lease.stream()), 0);
  }
  EXPECT_EQ(m.read_mut(t).value()->payload, tensor(88));
}

TYPED_TEST(GpuLeases, StreamOrderedFreeDoesNotHandTheSlotOutEarly) {
  LIMEN_REQUIRE_GPU();
  ManagerConfig c = gpu_config(1);
  c.wait_for_pending_frees = false;
  TypeParam m(c);
  const MessageToken t = m.store(message(1)).value();
  {
    auto lease = m.lease(t).value();
    // About 300 ms on the device: far longer than the host calls below.
    ASSERT_EQ(cuda::testing::spin_then_fill(lease.device_ptr(), 5, 300'000'000ULL, lease.stream()),
              0);
  }
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(m.free(t).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100))
      << "free must not wait for the kernel";
  EXPECT_EQ(m.available(), 0U);
  LIMEN_EXPECT_ERROR(m.store(message(2)), MemoryError::NoFreeSlots);
  ASSERT_EQ(cudaStreamSynchronize(m.stream().template as<cudaStream_t>()), cudaSuccess);
  const MessageToken again = m.store(message(3)).value();
  EXPECT_EQ(again.index(), t.index());
  EXPECT_EQ(m.read(again).value()->payload, tensor(3));
}

TYPED_TEST(GpuLeases, StoreWaitsForTheKernelWhenAllowed) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config(1));  // wait_for_pending_frees defaults to true
  const MessageToken t = m.store(message(1)).value();
  {
    auto lease = m.lease(t).value();
    ASSERT_EQ(cuda::testing::spin_then_fill(lease.device_ptr(), 5, 200'000'000ULL, lease.stream()),
              0);
  }
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(m.free(t).has_value());
  const MessageToken again = m.store(message(3)).value();
  EXPECT_GT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  EXPECT_EQ(again.index(), t.index());
  EXPECT_EQ(m.read(again).value()->payload, tensor(3));  // the kernel's late write came before
}

// --- The hot path makes no allocation call (counted with CUPTI callbacks) ---

std::atomic<int> allocation_calls{0};

void CUPTIAPI count_allocations(void*, CUpti_CallbackDomain domain, CUpti_CallbackId id,
                                const void* data) {
  const auto* info = static_cast<const CUpti_CallbackData*>(data);
  if (domain != CUPTI_CB_DOMAIN_RUNTIME_API || info->callbackSite != CUPTI_API_ENTER) return;
  switch (id) {
    case CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020:
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

}  // namespace
}  // namespace limen::test
