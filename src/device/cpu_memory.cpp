// SPDX-License-Identifier: Apache-2.0
// The CPU device's memory (see cpu_memory.hpp).
#include "cpu_memory.hpp"

#include "cpu_settings.hpp"

#include <sys/mman.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>

namespace limen::detail::cpu {
namespace {

using device::status::invalid_value;
using device::status::memory_allocation;
using device::status::success;

constexpr std::size_t kAlignment = 256;  // what cudaMalloc and memory pools guarantee
constexpr std::size_t kPage = 4096;

std::size_t round_up(std::size_t n, std::size_t to) noexcept { return (n + to - 1) / to * to; }

/// The lowest and highest address of any arena reserved so far: most pointers
/// (host, pinned, managed) are told apart from device memory by two compares.
std::atomic<std::uintptr_t> lowest{~std::uintptr_t{0}};
std::atomic<std::uintptr_t> highest{0};

void widen(std::uintptr_t start, std::size_t bytes) noexcept {
  std::uintptr_t low = lowest.load();
  while (start < low && !lowest.compare_exchange_weak(low, start)) {
  }
  std::uintptr_t high = highest.load();
  while (start + bytes > high && !highest.compare_exchange_weak(high, start + bytes)) {
  }
}

/// The first arena reserved becomes the window host_view() checks inline.
void claim_window(std::uintptr_t start, std::size_t bytes, std::byte* alias) noexcept {
  static std::mutex once;
  std::lock_guard lock(once);
  if (first_arena.start.load() != 0) return;
  first_arena.end.store(start + bytes, std::memory_order_relaxed);
  first_arena.alias.store(reinterpret_cast<std::uintptr_t>(alias), std::memory_order_relaxed);
  first_arena.start.store(start, std::memory_order_release);
}

bool maybe_device(const void* ptr) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(ptr);
  return a >= lowest.load(std::memory_order_acquire) && a < highest.load(std::memory_order_acquire);
}

/// One device's memory: a no-access range handed out, its read-write alias, and
/// a first-fit allocator over offsets.
class Arena {
 public:
  Status allocate(int device, std::size_t bytes, void** out, PoolAccess access) {
    std::lock_guard lock(mutex_);
    if (!reserve(device)) return memory_allocation;
    const std::size_t size = round_up(bytes == 0 ? 1 : bytes, kAlignment);
    if (size < bytes) return memory_allocation;
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second < size) continue;
      const std::size_t offset = it->first;
      const std::size_t left = it->second - size;
      free_.erase(it);
      if (left != 0) free_.emplace(offset + size, left);
      live_.emplace(offset, Block{size, std::move(access)});
      *out = base() + offset;
      return success;
    }
    return memory_allocation;
  }

  Status deallocate(std::size_t offset) noexcept {
    std::lock_guard lock(mutex_);
    const auto it = live_.find(offset);
    if (it == live_.end()) return invalid_value;
    const std::size_t size = it->second.bytes;
    live_.erase(it);
    // Give the pages back (they read as zero again) and merge with free neighbours.
    std::byte* alias = alias_base() + offset;
    const auto first = reinterpret_cast<std::uintptr_t>(alias);
    const std::uintptr_t page_start = round_up(first, kPage);
    const std::uintptr_t page_end = (first + size) / kPage * kPage;
    if (page_end > page_start) {
      (void)madvise(reinterpret_cast<void*>(page_start), page_end - page_start, MADV_DONTNEED);
    }
    insert_free(offset, size);
    return success;
  }

  [[nodiscard]] bool contains(const void* p) const noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t start = start_.load(std::memory_order_acquire);
    return start != 0 && a >= start && a < start + bytes_;
  }

  [[nodiscard]] void* alias(const void* p) const noexcept {
    const auto offset = reinterpret_cast<std::uintptr_t>(p) - start_.load(std::memory_order_acquire);
    return alias_base() + offset;
  }

  /// The pool access of the live block holding @p offset (null if none or plain).
  PoolAccess access_at(std::size_t offset) {
    std::lock_guard lock(mutex_);
    auto it = live_.upper_bound(offset);
    if (it == live_.begin()) return {};
    --it;
    if (offset >= it->first + it->second.bytes) return {};
    return it->second.access;
  }

  [[nodiscard]] std::size_t offset_of(const void* p) const noexcept {
    return reinterpret_cast<std::uintptr_t>(p) - start_.load(std::memory_order_acquire);
  }

 private:
  /// Maps the two ranges on first use; false if the address space refuses.
  bool reserve(int) {
    if (start_.load(std::memory_order_relaxed) != 0) return true;
    bytes_ = machine().memory_bytes;
    void* device = mmap(nullptr, bytes_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                        -1, 0);
    if (device == MAP_FAILED) return false;
    void* alias = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (alias == MAP_FAILED) {
      munmap(device, bytes_);
      return false;
    }
    alias_ = static_cast<std::byte*>(alias);
    free_.emplace(0, bytes_);
    start_.store(reinterpret_cast<std::uintptr_t>(device), std::memory_order_release);
    widen(reinterpret_cast<std::uintptr_t>(device), bytes_);
    claim_window(reinterpret_cast<std::uintptr_t>(device), bytes_, alias_);
    return true;
  }

  void insert_free(std::size_t offset, std::size_t size) {
    auto next = free_.lower_bound(offset);
    if (next != free_.end() && offset + size == next->first) {
      size += next->second;
      next = free_.erase(next);
    }
    if (next != free_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == offset) {
        prev->second += size;
        return;
      }
    }
    free_.emplace(offset, size);
  }

  [[nodiscard]] std::byte* base() const noexcept {
    return reinterpret_cast<std::byte*>(start_.load(std::memory_order_relaxed));
  }
  [[nodiscard]] std::byte* alias_base() const noexcept { return alias_; }

  std::mutex mutex_;
  std::atomic<std::uintptr_t> start_{0};
  std::byte* alias_ = nullptr;
  std::size_t bytes_ = 0;
  std::map<std::size_t, std::size_t> free_;  ///< offset -> bytes
  struct Block {
    std::size_t bytes = 0;
    PoolAccess access;  ///< the pool that served it; null for a plain allocation
  };
  std::map<std::size_t, Block> live_;  ///< offset -> block
};

std::array<Arena, kMaxDevices>& arenas() {
  static auto* all = new std::array<Arena, kMaxDevices>;  // outlives detached workers
  return *all;
}


/// Host allocations of one kind: start -> bytes.
struct HostBlocks {
  std::mutex mutex;
  std::map<const std::byte*, std::size_t> blocks;
  std::atomic<std::uint64_t> frees{0};  ///< invalidates the threads' last-block caches
};

/// The block a thread found last, while no block of its kind was freed since.
struct LastBlock {
  const std::byte* start = nullptr;
  std::size_t bytes = 0;
  std::uint64_t frees = ~std::uint64_t{0};
};
thread_local LastBlock last_block[2];

HostBlocks& host_blocks(HostKind kind) {
  static auto* all = new std::array<HostBlocks, 2>;
  return (*all)[static_cast<std::size_t>(kind)];
}

}  // namespace

Status device_allocate(int device, std::size_t bytes, void** out, PoolAccess pool_access) {
  return arenas()[static_cast<std::size_t>(device)].allocate(device, bytes, out,
                                                             std::move(pool_access));
}

PoolAccess pool_access_of(const void* ptr) {
  const int device = device_of(ptr);
  if (device < 0) return {};
  Arena& arena = arenas()[static_cast<std::size_t>(device)];
  return arena.access_at(arena.offset_of(ptr));
}

Status device_deallocate(void* ptr) noexcept {
  const int device = device_of(ptr);
  if (device < 0) return invalid_value;
  Arena& arena = arenas()[static_cast<std::size_t>(device)];
  return arena.deallocate(arena.offset_of(ptr));
}

int device_of(const void* ptr) noexcept {
  if (!maybe_device(ptr)) return -1;
  const auto& all = arenas();
  for (std::size_t d = 0; d < machine().devices; ++d) {
    if (all[d].contains(ptr)) return static_cast<int>(d);
  }
  return -1;
}

constinit ArenaWindow first_arena;

void* host_view_slow(const void* ptr) noexcept {
  if (!maybe_device(ptr)) return const_cast<void*>(ptr);
  const auto& all = arenas();
  for (std::size_t d = 0; d < machine().devices; ++d) {
    if (all[d].contains(ptr)) return all[d].alias(ptr);
  }
  return const_cast<void*>(ptr);
}

Status host_allocate(HostKind kind, std::size_t bytes, void** out) {
  const std::size_t size = round_up(bytes == 0 ? 1 : bytes, kPage);
  if (size < bytes) return memory_allocation;
  void* p = std::aligned_alloc(kPage, size);
  if (p == nullptr) return memory_allocation;
  HostBlocks& b = host_blocks(kind);
  try {
    std::lock_guard lock(b.mutex);
    b.blocks.emplace(static_cast<const std::byte*>(p), size);
  } catch (...) {
    std::free(p);
    return memory_allocation;
  }
  *out = p;
  return success;
}

Status host_deallocate(HostKind kind, void* ptr) noexcept {
  HostBlocks& b = host_blocks(kind);
  {
    std::lock_guard lock(b.mutex);
    if (b.blocks.erase(static_cast<const std::byte*>(ptr)) == 0) return invalid_value;
    b.frees.fetch_add(1, std::memory_order_acq_rel);
  }
  std::free(ptr);
  return success;
}

bool host_owns(HostKind kind, const void* ptr) noexcept {
  HostBlocks& b = host_blocks(kind);
  const auto* p = static_cast<const std::byte*>(ptr);
  LastBlock& last = last_block[static_cast<std::size_t>(kind)];
  const std::uint64_t frees = b.frees.load(std::memory_order_acquire);
  if (last.frees == frees && p >= last.start && p < last.start + last.bytes) return true;
  std::lock_guard lock(b.mutex);
  auto it = b.blocks.upper_bound(p);
  if (it == b.blocks.begin()) return false;
  --it;
  if (p >= it->first + it->second) return false;
  last = LastBlock{it->first, it->second, b.frees.load(std::memory_order_relaxed)};
  return true;
}

}  // namespace limen::detail::cpu
