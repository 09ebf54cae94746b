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

/**
 * @brief Two worker handles on one ConcurrentManager, each call through the
 * one the input picks: slots one handle took are freed by the other, and both
 * slot caches fill, refill and drain. A store that finds no slot while the
 * other handle's cache holds free ones (which only that handle may take) is
 * retried after replacing that handle, which gives its cached slots back:
 * the model's count of free slots then stays exact (and the failed first
 * attempt, which the model did not ask for, is taken out of stats()).
 */
class HandlePair {
  using H = ConcurrentHandle<Payload>;

 public:
  using ReadGuard = H::ReadGuard;
  using WriteGuard = H::WriteGuard;
  using HeaderGuard = H::HeaderGuard;

  HandlePair(FuzzedDataProvider& in, std::size_t capacity)
      : in_(in), owner_(capacity), handles_{owner_.scoped_handle(), owner_.scoped_handle()} {}

  Result<MessageToken> store(const Message<Payload>& message) {
    const std::size_t which = pick();
    auto stored = handles_[which].store(message);
    if (!stored && stored.error() == MemoryError::NoFreeSlots) {
      handles_[1 - which] = owner_.scoped_handle();  // its cached slots come back
      stored = handles_[which].store(message);
      ++hidden_failures_;  // the model asked for one store: the first attempt is ours
    }
    return stored;
  }
  Result<ReadGuard> read(MessageToken t) const { return handles_[pick()].read(t); }
  Result<ReadGuard> try_read(MessageToken t) const { return handles_[pick()].try_read(t); }
  Result<WriteGuard> read_mut(MessageToken t) { return handles_[pick()].read_mut(t); }
  Result<WriteGuard> try_read_mut(MessageToken t) { return handles_[pick()].try_read_mut(t); }
  Result<HeaderGuard> peek_header(MessageToken t) const { return handles_[pick()].peek_header(t); }
  Result<void> free(MessageToken t) { return handles_[pick()].free(t); }
  Result<void> retain(MessageToken t) { return handles_[pick()].retain(t); }
  Result<void> release(MessageToken t) { return handles_[pick()].release(t); }
  [[nodiscard]] std::size_t available() const noexcept { return owner_.available(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return owner_.capacity(); }
  [[nodiscard]] MemoryClass memory_class() const noexcept { return owner_.memory_class(); }
  [[nodiscard]] ManagerStats stats() const noexcept {
    ManagerStats s = owner_.stats();
    s.failed_stores -= hidden_failures_;
    return s;
  }

 private:
  std::size_t pick() const { return in_.ConsumeBool() ? 1 : 0; }

  FuzzedDataProvider& in_;
  ConcurrentManager<Payload> owner_;
  H handles_[2];
  std::uint64_t hidden_failures_ = 0;
};

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
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: {
      using M = ConcurrentManager<Payload>;
      Driver<M>(in, std::make_unique<M>(capacity), t).run();
      break;
    }
    case 1: {
      ConcurrentManager<Payload> owner(capacity);
      using H = ConcurrentHandle<Payload>;
      Driver<H>(in, std::make_unique<H>(owner.scoped_handle()), t).run();
      break;
    }
    default: {  // slot caches engage from 16 slots (up to capacity / 16 each)
      t.movable = false;
      const std::size_t cached = 16 + capacity * 6;
      Driver<HandlePair>(in, std::make_unique<HandlePair>(in, cached), t).run();
    }
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
