// SPDX-License-Identifier: Apache-2.0
// Handles for the CPU device's streams and events: a table index, a generation
// and a tag in the top 16 bits. The tag makes every handle a non-canonical
// address (a real pointer never has it, and dereferencing one faults), so a
// pointer the CPU device did not hand out is recognised without touching it,
// and a destroyed object's handle is refused by its generation. The table's
// objects are never freed, only reused: an index stays valid to look at.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

namespace limen::detail::cpu {

/**
 * @brief A value built at compile time and never destroyed: the CPU device's
 * tables are reached by detached worker threads and by static objects' own
 * destructors at exit, so they must outlive everything.
 */
template <class T>
union Immortal {
  constexpr Immortal() : value() {}
  ~Immortal() {}
  T value;
};

template <class T, std::uint16_t Tag>
class HandleTable {
  static constexpr unsigned kChunkBits = 8;
  static constexpr std::uint32_t kChunk = 1U << kChunkBits;
  static constexpr std::uint32_t kMaxChunks = 1U << 16;  // 16M objects: an event encodes 24 bits

  struct Entry {
    std::atomic<std::uint16_t> generation{1};
    std::atomic<bool> live{false};
    T object;
  };

 public:
  constexpr HandleTable() = default;
  HandleTable(const HandleTable&) = delete;
  HandleTable& operator=(const HandleTable&) = delete;

  /** @brief Whether @p handle carries this table's tag (a live or a stale handle). */
  [[nodiscard]] static bool tagged(std::uintptr_t handle) noexcept {
    return static_cast<std::uint16_t>(handle >> 48) == Tag;
  }
  [[nodiscard]] static std::uint32_t index_of(std::uintptr_t handle) noexcept {
    return static_cast<std::uint32_t>(handle);
  }

  /** @brief The live object @p handle names, or null (foreign, stale or never made). */
  [[nodiscard]] T* resolve(std::uintptr_t handle) const noexcept {
    if (!tagged(handle)) return nullptr;
    const std::uint32_t index = index_of(handle);
    if (index >= size_.load(std::memory_order_acquire)) return nullptr;
    Entry& e = entry(index);
    if (!e.live.load(std::memory_order_acquire)) return nullptr;
    if (e.generation.load(std::memory_order_acquire) != static_cast<std::uint16_t>(handle >> 32)) {
      return nullptr;
    }
    return &e.object;
  }

  /** @brief The object at @p index (which exists). */
  [[nodiscard]] T& at(std::uint32_t index) const noexcept { return entry(index).object; }

  /** @brief The handle of the live object at @p index. */
  [[nodiscard]] std::uintptr_t handle(std::uint32_t index) const noexcept {
    const std::uint64_t generation = entry(index).generation.load(std::memory_order_acquire);
    return static_cast<std::uintptr_t>(std::uint64_t{Tag} << 48 | generation << 32 | index);
  }

  /**
   * @brief A fresh place: a retired one whose object says it may be reused
   * (@p reusable), else a new one. Marked live. Throws std::bad_alloc when full.
   */
  template <class Reusable>
  std::uint32_t acquire(Reusable reusable) {
    std::lock_guard lock(mutex_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (reusable(entry(*it).object)) {
        const std::uint32_t index = *it;
        free_.erase(it);
        entry(index).live.store(true, std::memory_order_release);
        return index;
      }
    }
    const std::uint32_t index = size_.load(std::memory_order_relaxed);
    if (index % kChunk == 0) {
      if (index / kChunk >= kMaxChunks) throw std::bad_alloc();
      chunks_[index / kChunk].store(new Entry[kChunk], std::memory_order_release);
    }
    entry(index).live.store(true, std::memory_order_release);
    size_.store(index + 1, std::memory_order_release);
    return index;
  }

  /** @brief Stales every handle of the object at @p index and lets acquire() reuse its place. */
  void retire(std::uint32_t index) noexcept {
    std::lock_guard lock(mutex_);
    Entry& e = entry(index);
    if (!e.live.load(std::memory_order_relaxed)) return;
    e.live.store(false, std::memory_order_release);
    e.generation.fetch_add(1, std::memory_order_acq_rel);
    try {
      free_.push_back(index);
    } catch (...) {  // out of memory: the place is simply not reused
    }
  }

  /** @brief How many places were ever made (live, retired or reusable). */
  [[nodiscard]] std::uint32_t size() const noexcept { return size_.load(std::memory_order_acquire); }

 private:
  Entry& entry(std::uint32_t index) const noexcept {
    return chunks_[index / kChunk].load(std::memory_order_acquire)[index % kChunk];
  }

  mutable std::atomic<Entry*> chunks_[kMaxChunks] = {};
  std::atomic<std::uint32_t> size_{0};
  std::mutex mutex_;
  std::vector<std::uint32_t> free_;
};

}  // namespace limen::detail::cpu
