// SPDX-License-Identifier: Apache-2.0
// One libFuzzer harness per manager family, chosen when compiled
// (LIMEN_FUZZ_FAMILY): each input picks the manager's shape (capacity, thread
// safety, waiting for pending frees) and then drives it (driver.hpp).
#include "driver.hpp"

#include <cstddef>
#include <cstdint>

#define LIMEN_FUZZ_HOST 0
#define LIMEN_FUZZ_CONCURRENT 1
#define LIMEN_FUZZ_PINNED 2
#define LIMEN_FUZZ_DEVICE 3
#define LIMEN_FUZZ_SHARED 4
#define LIMEN_FUZZ_ANY 5

namespace limen::fuzz {
namespace {

[[maybe_unused]] ManagerConfig class_config(FuzzedDataProvider& in) {
  ManagerConfig c;
  c.capacity = in.ConsumeIntegralInRange<std::size_t>(1, 8);
  c.thread_safe = in.ConsumeBool();
  c.wait_for_pending_frees = in.ConsumeBool();
  c.name = "fuzz";
  return c;
}

[[maybe_unused]] Traits class_traits(MemoryKind kind, const ManagerConfig& c) {
  Traits t;
  t.kind = kind;
  t.may_wait = c.thread_safe;
  t.wait_for_pending = c.wait_for_pending_frees;
  return t;
}

/// An injected allocation fault fails construction cleanly; the next one works.
template <class M>
void construction_can_fail(FuzzedDataProvider& in, const ManagerConfig& c) {
  if (!in.ConsumeBool()) return;
  fault_injection::inject_faults(FaultKind::Allocation, 1);
  auto failed = M::create(c);
  LIMEN_FUZZ_CHECK(!failed && failed.error() == MemoryError::DeviceError,
                   "an allocation fault did not fail construction");
}

template <class M, MemoryKind Kind>
void run_class(FuzzedDataProvider& in) {
  const ManagerConfig c = class_config(in);
  construction_can_fail<M>(in, c);
  Driver<M>(in, std::make_unique<M>(c), class_traits(Kind, c)).run();
}

void run_family(FuzzedDataProvider& in) {
#if LIMEN_FUZZ_FAMILY == LIMEN_FUZZ_HOST
  if (in.ConsumeBool()) {
    Traits t;
    t.movable = false;
    Driver<StaticManager<Payload, 8>>(in, std::make_unique<StaticManager<Payload, 8>>(), t).run();
  } else {
    const auto capacity = in.ConsumeIntegralInRange<std::size_t>(0, 8);
    Driver<HeapManager<Payload>>(in, std::make_unique<HeapManager<Payload>>(capacity), {}).run();
  }
#elif LIMEN_FUZZ_FAMILY == LIMEN_FUZZ_CONCURRENT
  const auto capacity = in.ConsumeIntegralInRange<std::size_t>(0, 8);
  Traits t;
  t.may_wait = true;
  // Neither the manager nor its handles sample the peak on every store (the
  // high-water mark is sampled on a shard steal, the first and every 1024th use).
  t.exact_peak = false;
  if (in.ConsumeBool()) {
    using M = ConcurrentManager<Payload>;
    Driver<M>(in, std::make_unique<M>(capacity), t).run();
  } else {
    ConcurrentManager<Payload> owner(capacity);
    using H = ConcurrentHandle<Payload>;
    Driver<H>(in, std::make_unique<H>(owner.scoped_handle()), t).run();
  }
#elif LIMEN_FUZZ_FAMILY == LIMEN_FUZZ_PINNED
  run_class<PinnedManager<Payload>, MemoryKind::PinnedHost>(in);
#elif LIMEN_FUZZ_FAMILY == LIMEN_FUZZ_DEVICE
  run_class<DeviceManager<Payload>, MemoryKind::Device>(in);
#elif LIMEN_FUZZ_FAMILY == LIMEN_FUZZ_SHARED
  run_class<SharedManager<Payload>, MemoryKind::Shared>(in);
#elif LIMEN_FUZZ_FAMILY == LIMEN_FUZZ_ANY
  const MemoryClass classes[] = {MemoryClass::host(), MemoryClass::pinned_host(),
                                 MemoryClass::device(0), MemoryClass::shared()};
  const MemoryClass memory_class = classes[in.ConsumeIntegralInRange<int>(0, 3)];
  const ManagerConfig c = class_config(in);
  Traits t = class_traits(memory_class.kind(), c);
  auto made = make_manager<Payload>(memory_class, c);
  LIMEN_FUZZ_CHECK(made.has_value(), "make_manager failed");
  Driver<AnyManager<Payload>>(in, std::make_unique<AnyManager<Payload>>(std::move(*made)), t).run();
#else
#error "LIMEN_FUZZ_FAMILY must name a manager family"
#endif
}

}  // namespace
}  // namespace limen::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  limen::fault_injection::reset();
  limen::fuzz::run_family(in);
  limen::fault_injection::reset();
  return 0;
}
