// SPDX-License-Identifier: Apache-2.0
/**
 * @file nvtx.hpp
 * @brief limen's NVTX annotations: one domain, per-manager registered strings,
 * a category per memory class, and the NVTX memory API for pools and slots.
 *
 * The annotator's layout is the same whatever the build options: NVTX handles
 * are kept as opaque pointers and every NVTX call is compiled once, in
 * `src/nvtx.cpp`. So two translation units can never disagree about the size
 * of a manager (an earlier per-translation-unit switch did, and corrupted
 * memory). When limen is built without NVTX (`LIMEN_NVTX=OFF`, or no NVTX
 * headers) `active()` is always false and nothing is ever called.
 */
#pragma once

#include <limen/error.hpp>
#include <limen/memory_class.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

namespace limen::detail::nvtx {

/** @brief What a range covers; each gets a registered string per manager. */
enum class Op : std::uint8_t {
  Store,
  Free,
  Sync,          ///< waiting for in-flight work or a stream
  CopyToDevice,  ///< host -> device payload copy
  CopyToHost,    ///< device -> host payload copy
  Prefetch,      ///< managed memory to the host
  LeaseEnd,      ///< recording the event that ends a lease
  Batch,         ///< staging, gathering or scattering a batch of slots
  ChunkAlloc,    ///< a pinned buffer pool allocating a chunk (its only slow path)
  Count,
};

/** @brief Whether limen was built with NVTX annotations. */
[[nodiscard]] bool compiled_in() noexcept;

/** @brief Whether an NVTX tool (Nsight, compute-sanitizer, a test tool) listens. */
[[nodiscard]] bool tool_attached() noexcept;

/**
 * @brief One manager's annotations: ranges named "<name>/<op>", error marks,
 * its pool as an NVTX heap and each occupied slot as a region in it.
 *
 * Registration happens at construction; nothing here allocates. With no tool
 * attached `active()` is false and each annotation costs one predictable
 * branch; the NVTX calls themselves are out of line, so an inactive annotator
 * leaves the caller's code as if it were absent.
 */
class Annotator {
 public:
  Annotator(std::string_view name, MemoryClass memory_class) noexcept;
  Annotator(const Annotator&) = delete;
  Annotator& operator=(const Annotator&) = delete;
  /** @brief Takes @p other's registrations (its heap among them); @p other annotates nothing. */
  Annotator(Annotator&& other) noexcept
      : strings_(other.strings_),
        heap_(std::exchange(other.heap_, nullptr)),
        category_(other.category_),
        active_(std::exchange(other.active_, false)) {}
  ~Annotator();

  /** @brief A scoped range over one operation. */
  class Range {
   public:
    Range(const Annotator& a, Op op) noexcept : active_(a.active_) {
      if (active_) [[unlikely]]
        a.push(op);
    }
    Range(const Range&) = delete;
    Range& operator=(const Range&) = delete;
    ~Range() {
      if (active_) [[unlikely]]
        pop();
    }

   private:
    bool active_;
  };

  [[nodiscard]] Range range(Op op) const noexcept { return Range(*this, op); }

  /** @brief Whether a tool listens: callers may skip annotation work when not. */
  [[nodiscard]] bool active() const noexcept { return active_; }

  /** @brief A mark naming an error (DeviceError, Poisoned, NoFreeSlots, ...). */
  void mark(MemoryError error) const noexcept {
    if (active_) [[unlikely]]
      mark_error(error);
  }

  /** @brief Registers [base, base + bytes) as this manager's heap (its pool or arena). */
  void register_heap(const void* base, std::size_t bytes) noexcept {
    if (active_) [[unlikely]]
      add_heap(base, bytes);
  }

  /** @brief Registers one occupied slot as a region of the heap. */
  void register_region(const void* base, std::size_t bytes) const noexcept {
    if (heap_ != nullptr) [[unlikely]]
      add_region(base, bytes);
  }

  /** @brief Unregisters the region that starts at @p base. */
  void unregister_region(const void* base) const noexcept {
    if (heap_ != nullptr) [[unlikely]]
      remove_region(base);
  }

  /**
   * @brief Registers one more heap (a pool's chunk): its handle, or null when
   * no tool listens. Pass it to the *_in calls; close it with close_heap().
   */
  [[nodiscard]] void* open_heap(const void* base, std::size_t bytes) const noexcept {
    if (!active_) [[likely]]
      return nullptr;
    return new_heap(base, bytes);
  }
  /** @brief Resets and unregisters a heap from open_heap() (its regions go too). */
  void close_heap(void* heap) const noexcept {
    if (heap != nullptr) [[unlikely]]
      drop_heap(heap);
  }
  /** @brief Registers [base, base + bytes) as a region of @p heap (from open_heap()). */
  void register_region_in(void* heap, const void* base, std::size_t bytes) const noexcept {
    if (heap != nullptr) [[unlikely]]
      add_region_to(heap, base, bytes);
  }
  /** @brief Unregisters the region at @p base of a heap from open_heap(). */
  void unregister_region_in(void* heap, const void* base) const noexcept {
    if (heap != nullptr) [[unlikely]]
      remove_region(base);
  }

 private:
  void push(Op op) const noexcept;
  static void pop() noexcept;
  void mark_error(MemoryError error) const noexcept;
  void add_heap(const void* base, std::size_t bytes) noexcept;
  void add_region(const void* base, std::size_t bytes) const noexcept;
  void remove_region(const void* base) const noexcept;
  void* new_heap(const void* base, std::size_t bytes) const noexcept;
  void drop_heap(void* heap) const noexcept;
  void add_region_to(void* heap, const void* base, std::size_t bytes) const noexcept;

  std::array<const void*, static_cast<std::size_t>(Op::Count)> strings_{};  ///< NVTX string handles
  void* heap_ = nullptr;                                                    ///< NVTX heap handle
  std::uint32_t category_ = 0;
  bool active_ = false;
};

}  // namespace limen::detail::nvtx
