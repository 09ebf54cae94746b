// SPDX-License-Identifier: Apache-2.0
// Fault injection into the CPU device (limen/fault_injection.hpp), or, in a
// library built without it, the same hooks answering "never".
#include <limen/config.hpp>

#include "device/fault_hooks.hpp"

#if LIMEN_FAULT_INJECTION
#include "device/cpu_api.hpp"
#include "device/cpu_settings.hpp"
#include "device/cpu_streams.hpp"
#include "runtime_state.hpp"

#include <limen/cpu_device.hpp>
#include <limen/fault_injection.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#endif

namespace limen {

#if LIMEN_FAULT_INJECTION
namespace {

constexpr std::size_t kFaultKinds = 7;
static_assert(static_cast<std::size_t>(fault_injection::FaultKind::DeviceCount) + 1 == kFaultKinds);
static_assert(static_cast<int>(fault_injection::FaultKind::DeviceCount) ==
              static_cast<int>(detail::InjectedCall::DeviceCount));

struct PendingFaults {
  std::atomic<unsigned> count{0};
  std::atomic<int> code{fault_injection::default_fault_code};
};
std::array<PendingFaults, kFaultKinds> pending;
std::atomic<bool> capturing{false};
std::atomic<bool> no_pools{false};

/// Keeps the CPU device's fast paths off while any fault is pending.
void update_fast_paths() noexcept {
  bool any = false;
  for (auto& p : pending) any = any || p.count.load() != 0;
  detail::cpu::set_unusual(detail::cpu::kFaults, any);
}

}  // namespace

namespace fault_injection {

void inject_faults(FaultKind kind, unsigned count, int cuda_code) noexcept {
  auto& p = pending[static_cast<std::size_t>(kind)];
  p.code.store(cuda_code != 0 ? cuda_code : default_fault_code);  // success is no fault
  p.count.store(count);
  update_fast_paths();
}

unsigned pending_faults(FaultKind kind) noexcept {
  return pending[static_cast<std::size_t>(kind)].count.load();
}

void clear_faults() noexcept {
  for (auto& p : pending) p.count.store(0);
  update_fast_paths();
}

void hold_events(bool hold) noexcept {
  detail::cpu::hold(hold);
}

void release_events() noexcept {
  detail::cpu::release_held();
}

void simulate_capture(bool on) noexcept {
  capturing.store(on);
  detail::cpu::set_unusual(detail::cpu::kCapture, on);
}

void disable_memory_pools(bool disabled) noexcept {
  no_pools.store(disabled);
}

void destroy_stream(StreamHandle stream) noexcept {
  if (cpu_device::active()) (void)cpu_device::destroy_stream(stream);
}

std::uint64_t dangling_stream_uses() noexcept {
  return detail::cpu::stats().stale_handle_uses;
}

void reset() noexcept {
  clear_faults();
  hold_events(false);
  release_events();
  simulate_capture(false);
  disable_memory_pools(false);
  detail::cpu::reset_stale_handles();
  detail::cpu::revive_devices();
  detail::forget_lost_devices();
}

}  // namespace fault_injection

namespace detail {

int take_fault(InjectedCall call) noexcept {
  auto& p = pending[static_cast<std::size_t>(call)];
  unsigned n = p.count.load(std::memory_order_relaxed);
  while (n > 0 && !p.count.compare_exchange_weak(n, n - 1)) {
  }
  if (n == 0) return 0;
  if (n == 1) update_fast_paths();  // that was the last of its kind
  return p.code.load();
}

bool capture_simulated() noexcept {
  return capturing.load(std::memory_order_relaxed);
}

bool pools_disabled_for_tests() noexcept {
  return no_pools.load();
}

}  // namespace detail

#else  // built without fault injection: nothing is ever injected

namespace detail {
int take_fault(InjectedCall) noexcept {
  return 0;
}
bool capture_simulated() noexcept {
  return false;
}
bool pools_disabled_for_tests() noexcept {
  return false;
}
}  // namespace detail

#endif

}  // namespace limen
