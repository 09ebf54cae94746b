// Fault injection and held events for the CPU fallback (limen/fault_injection.hpp).
#include "arenas.hpp"

#include <atomic>
#include <cstddef>

namespace limen {
namespace {

constexpr std::size_t kFaultKinds = 5;
std::atomic<unsigned> pending_faults[kFaultKinds];
std::atomic<bool> holding{false};
/// Events recorded while holding complete when this passes their target.
std::atomic<std::uint64_t> release_epoch{0};

}  // namespace

namespace fault_injection {

void inject_faults(FaultKind kind, unsigned count) noexcept {
  pending_faults[static_cast<std::size_t>(kind)].store(count);
}

void clear_faults() noexcept {
  for (auto& f : pending_faults) f.store(0);
}

void hold_events(bool hold) noexcept {
  holding.store(hold);
}

void release_events() noexcept {
  release_epoch.fetch_add(1);
  release_epoch.notify_all();
}

}  // namespace fault_injection

namespace detail {

bool take_fault(fault_injection::FaultKind kind) noexcept {
  auto& count = pending_faults[static_cast<std::size_t>(kind)];
  unsigned n = count.load(std::memory_order_relaxed);
  while (n > 0 && !count.compare_exchange_weak(n, n - 1)) {
  }
  return n > 0;
}

std::uint64_t emulated_event_target() noexcept {
  return holding.load() ? release_epoch.load() + 1 : 0;
}

bool emulated_event_complete(std::uint64_t target) noexcept {
  return release_epoch.load(std::memory_order_acquire) >= target;
}

void wait_emulated_event(std::uint64_t target) noexcept {
  for (std::uint64_t now = release_epoch.load(); now < target; now = release_epoch.load()) {
    release_epoch.wait(now);
  }
}

}  // namespace detail
}  // namespace limen
