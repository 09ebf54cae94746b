// SPDX-License-Identifier: Apache-2.0
// The CPU device's settings: read from the environment once, the schedule
// changeable at run time (cpu_device::set_schedule).
#include "cpu_settings.hpp"

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace limen::detail::cpu {
namespace {

/// Reads unsigned @p name into @p value when set and within [lo, hi]; else says why on stderr.
template <class T>
void read_number(const char* name, T& value, T lo, T hi) {
  const char* text = std::getenv(name);
  if (text == nullptr) return;
  const std::string_view s(text);
  T parsed{};
  const auto [end, error] = std::from_chars(s.data(), s.data() + s.size(), parsed);
  if (error != std::errc{} || end != s.data() + s.size() || parsed < lo || parsed > hi) {
    std::fprintf(stderr,
                 "limen: ignoring %s=\"%s\" (expected a whole number in %llu..%llu); using %llu\n",
                 name, text, static_cast<unsigned long long>(lo),
                 static_cast<unsigned long long>(hi), static_cast<unsigned long long>(value));
    return;
  }
  value = parsed;
}

void read_flag(const char* name, bool& value) {
  unsigned number = value ? 1U : 0U;
  read_number<unsigned>(name, number, 0, 1);
  value = number != 0;
}

void read_schedule(cpu_device::Schedule& schedule) {
  const char* text = std::getenv("LIMEN_CPU_DEVICE_SCHEDULE");
  if (text == nullptr) return;
  const std::string_view s(text);
  if (s == "immediate") {
    schedule = cpu_device::Schedule::Immediate;
  } else if (s == "deferred") {
    schedule = cpu_device::Schedule::Deferred;
  } else {
    std::fprintf(stderr,
                 "limen: ignoring LIMEN_CPU_DEVICE_SCHEDULE=\"%s\" (expected immediate or "
                 "deferred); using immediate\n",
                 text);
  }
}

cpu_device::Settings from_environment() {
  cpu_device::Settings s;
  read_schedule(s.schedule);
  read_number<std::uint64_t>("LIMEN_CPU_DEVICE_SEED", s.seed, 0, ~std::uint64_t{0});
  read_number<std::uint32_t>("LIMEN_CPU_DEVICE_MAX_DELAY_US", s.max_delay_us, 0, 1'000'000);
  read_number<unsigned>("LIMEN_CPU_DEVICES", s.devices, 1, kMaxDevices);
  std::size_t megabytes = s.memory_bytes >> 20;
  read_number<std::size_t>("LIMEN_CPU_DEVICE_MEMORY_MB", megabytes, 1, std::size_t{1} << 24);
  s.memory_bytes = megabytes << 20;
  read_flag("LIMEN_CPU_DEVICE_POOLS", s.memory_pools);
  read_flag("LIMEN_CPU_DEVICE_CONCURRENT_MANAGED", s.concurrent_managed_access);
  return s;
}

struct Schedule {
  std::atomic<bool> deferred;
  std::atomic<std::uint64_t> seed;
  std::atomic<std::uint32_t> max_delay_us;
};

Schedule& schedule() {
  static Schedule s{machine().schedule == cpu_device::Schedule::Deferred, machine().seed,
                    machine().max_delay_us};
  return s;
}

}  // namespace

namespace {
/// Read by every device call: a plain pointer once set, no static guard to test.
std::atomic<const cpu_device::Settings*> cached{nullptr};
}  // namespace

std::atomic<unsigned> unusual{kUnread};

void set_unusual(unsigned reason, bool on) noexcept {
  if (on) {
    unusual.fetch_or(reason, std::memory_order_acq_rel);
  } else {
    unusual.fetch_and(~reason, std::memory_order_acq_rel);
  }
}

const cpu_device::Settings& machine() {
  if (const cpu_device::Settings* s = cached.load(std::memory_order_acquire)) return *s;
  static const cpu_device::Settings settings = [] {
    cpu_device::Settings read = from_environment();
    set_unusual(kDeferred, read.schedule == cpu_device::Schedule::Deferred);
    set_unusual(kUnread, false);
    return read;
  }();
  cached.store(&settings, std::memory_order_release);
  return settings;
}

bool deferred() noexcept {
  return schedule().deferred.load(std::memory_order_relaxed);
}

std::uint64_t seed() noexcept {
  return schedule().seed.load(std::memory_order_relaxed);
}

std::uint32_t max_delay_us() noexcept {
  return schedule().max_delay_us.load(std::memory_order_relaxed);
}

void apply_schedule(cpu_device::Schedule kind, std::uint64_t seed_value,
                    std::uint32_t max_delay) noexcept {
  Schedule& s = schedule();
  s.seed.store(seed_value);
  s.max_delay_us.store(max_delay);
  s.deferred.store(kind == cpu_device::Schedule::Deferred);
  set_unusual(kDeferred, kind == cpu_device::Schedule::Deferred);
}

cpu_device::Settings settings() noexcept {
  cpu_device::Settings s = machine();
  s.schedule = deferred() ? cpu_device::Schedule::Deferred : cpu_device::Schedule::Immediate;
  s.seed = seed();
  s.max_delay_us = max_delay_us();
  return s;
}

}  // namespace limen::detail::cpu
