/**
 * @file nvtx.hpp
 * @brief limen's NVTX annotations: one domain, per-manager registered strings,
 * a category per memory class, and the NVTX memory API for pools and slots.
 *
 * Compiled out to empty inline functions when limen is built without NVTX
 * (LIMEN_NVTX=OFF, or no NVTX headers), and per translation unit when
 * `LIMEN_NVTX_DISABLE` is defined before including limen. The two variants
 * live in different inline namespaces, so they can share one program.
 */
#pragma once

#include <limen/error.hpp>
#include <limen/memory_class.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#if defined(LIMEN_HAVE_NVTX) && !defined(LIMEN_NVTX_DISABLE)
#define LIMEN_NVTX_ENABLED 1
#include <nvtx3/nvToolsExt.h>
#include <nvtx3/nvToolsExtMem.h>

#include <array>
#include <cstdio>
#else
#define LIMEN_NVTX_ENABLED 0
#endif

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
  Count,
};

#if LIMEN_NVTX_ENABLED
inline namespace on {

/** @brief Whether this translation unit annotates (NVTX found and not disabled). */
inline constexpr bool enabled = true;

inline constexpr const char* op_names[] = {"store",    "free",     "sync",     "copy_h2d",
                                           "copy_d2h", "prefetch", "lease_end"};

/** @brief The NVTX category of a memory class: 1 host, 2 pinned, 3 device, 4 shared. */
inline constexpr std::uint32_t category_of(MemoryKind kind) noexcept {
  return static_cast<std::uint32_t>(kind) + 1;
}

/**
 * @brief The `limen` domain, created once. Initialising NVTX here, inside a
 * magic static, finishes NVTX's lazy set-up before any thread annotates, which
 * avoids the race TSan reports in NVTX's first call.
 */
inline nvtxDomainHandle_t domain() noexcept {
  static const nvtxDomainHandle_t handle = [] {
    nvtxInitialize(nullptr);
    nvtxDomainHandle_t d = nvtxDomainCreateA("limen");
    nvtxDomainNameCategoryA(d, category_of(MemoryKind::Host), "host");
    nvtxDomainNameCategoryA(d, category_of(MemoryKind::PinnedHost), "pinned_host");
    nvtxDomainNameCategoryA(d, category_of(MemoryKind::Device), "device");
    nvtxDomainNameCategoryA(d, category_of(MemoryKind::Shared), "shared");
    return d;
  }();
  return handle;
}

/**
 * @brief The NVTX calls themselves, out of line and cold, taking only values.
 *
 * Keeping them out of the callers matters more than their own cost: an
 * inlined call through NVTX's function pointers is opaque, so the compiler
 * would reload manager state around it even when no tool listens. Passing no
 * pointer to manager state keeps that state private to the caller.
 */
struct Calls {
  [[gnu::cold, gnu::noinline]] static void push(nvtxStringHandle_t message,
                                                std::uint32_t category) noexcept {
    nvtxEventAttributes_t attr = attributes(category);
    attr.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
    attr.message.registered = message;
    nvtxDomainRangePushEx(domain(), &attr);
  }
  [[gnu::cold, gnu::noinline]] static void pop() noexcept { nvtxDomainRangePop(domain()); }

  [[gnu::cold, gnu::noinline]] static void mark(const char* text, std::uint32_t category) noexcept {
    nvtxEventAttributes_t attr = attributes(category);
    attr.messageType = NVTX_MESSAGE_TYPE_ASCII;
    attr.message.ascii = text;
    nvtxDomainMarkEx(domain(), &attr);
  }

  [[gnu::cold, gnu::noinline]] static nvtxMemHeapHandle_t register_heap(
      const void* base, std::size_t bytes, std::uint32_t category) noexcept {
    nvtxMemVirtualRangeDesc_t range{bytes, base};
    nvtxMemHeapDesc_t desc{};
    desc.extCompatID = NVTX_EXT_COMPATID_MEM;
    desc.structSize = sizeof(desc);
    desc.usage = NVTX_MEM_HEAP_USAGE_TYPE_SUB_ALLOCATOR;
    desc.type = NVTX_MEM_TYPE_VIRTUAL_ADDRESS;
    desc.typeSpecificDescSize = sizeof(range);
    desc.typeSpecificDesc = &range;
    desc.category = category;
    return nvtxMemHeapRegister(domain(), &desc);
  }

  [[gnu::cold, gnu::noinline]] static void unregister_heap(nvtxMemHeapHandle_t heap) noexcept {
    nvtxMemHeapReset(domain(), heap);
    nvtxMemHeapUnregister(domain(), heap);
  }

  [[gnu::cold, gnu::noinline]] static void register_region(nvtxMemHeapHandle_t heap,
                                                           std::uintptr_t base,
                                                           std::size_t bytes) noexcept {
    nvtxMemVirtualRangeDesc_t range{bytes, reinterpret_cast<const void*>(base)};
    nvtxMemRegionsRegisterBatch_t batch{};
    batch.extCompatID = NVTX_EXT_COMPATID_MEM;
    batch.structSize = sizeof(batch);
    batch.regionType = NVTX_MEM_TYPE_VIRTUAL_ADDRESS;
    batch.heap = heap;
    batch.regionCount = 1;
    batch.regionDescElementSize = sizeof(range);
    batch.regionDescElements = &range;
    nvtxMemRegionsRegister(domain(), &batch);
  }

  [[gnu::cold, gnu::noinline]] static void unregister_region(std::uintptr_t base) noexcept {
    nvtxMemRegionRef_t ref{};
    ref.pointer = reinterpret_cast<const void*>(base);
    nvtxMemRegionsUnregisterBatch_t batch{};
    batch.extCompatID = NVTX_EXT_COMPATID_MEM;
    batch.structSize = sizeof(batch);
    batch.refType = NVTX_MEM_REGION_REF_TYPE_POINTER;
    batch.refCount = 1;
    batch.refElementSize = sizeof(ref);
    batch.refElements = &ref;
    nvtxMemRegionsUnregister(domain(), &batch);
  }

 private:
  static nvtxEventAttributes_t attributes(std::uint32_t category) noexcept {
    nvtxEventAttributes_t attr{};
    attr.version = NVTX_VERSION;
    attr.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    attr.category = category;
    return attr;
  }
};

/**
 * @brief One manager's annotations: ranges named "<name>/<op>", error marks,
 * its pool as an NVTX heap and each occupied slot as a region in it.
 * Registration happens at construction; nothing here allocates.
 *
 * With no tool attached NVTX hands out null domains, so `active_` is false and
 * each annotation costs one predictable branch.
 */
class Annotator {
 public:
  Annotator(std::string_view name, MemoryClass memory_class) noexcept
      : category_(category_of(memory_class.kind())), active_(domain() != nullptr) {
    if (!active_) return;
    nvtxDomainHandle_t d = domain();
    std::array<char, 160> text{};
    for (std::size_t op = 0; op < static_cast<std::size_t>(Op::Count); ++op) {
      std::snprintf(text.data(), text.size(), "%.*s/%s", static_cast<int>(name.size()), name.data(),
                    op_names[op]);
      strings_[op] = nvtxDomainRegisterStringA(d, text.data());
    }
  }
  Annotator(const Annotator&) = delete;
  Annotator& operator=(const Annotator&) = delete;
  ~Annotator() { unregister_heap(); }

  /** @brief A scoped range over one operation. */
  class Range {
   public:
    Range(const Annotator& a, Op op) noexcept : active_(a.active_) {
      if (active_) [[unlikely]]
        Calls::push(a.strings_[static_cast<std::size_t>(op)], a.category_);
    }
    Range(const Range&) = delete;
    Range& operator=(const Range&) = delete;
    ~Range() {
      if (active_) [[unlikely]]
        Calls::pop();
    }

   private:
    bool active_;
  };

  [[nodiscard]] Range range(Op op) const noexcept { return Range(*this, op); }

  /** @brief Whether a tool listens: callers may skip annotation work when not. */
  [[nodiscard]] bool active() const noexcept { return active_; }

  /** @brief A mark naming an error (DeviceError, Poisoned, NoFreeSlots, ...). */
  void mark(MemoryError error) const noexcept {
    // to_string returns views of string literals, so data() is NUL-terminated.
    if (active_) [[unlikely]]
      Calls::mark(to_string(error).data(), category_);
  }

  /** @brief Registers [base, base + bytes) as this manager's heap (its pool or arena). */
  void register_heap(const void* base, std::size_t bytes) noexcept {
    if (active_) heap_ = Calls::register_heap(base, bytes, category_);
  }

  /** @brief Resets and unregisters the heap (every region in it goes too). */
  void unregister_heap() noexcept {
    if (heap_ == nullptr) return;
    Calls::unregister_heap(heap_);
    heap_ = nullptr;
  }

  /** @brief Registers one occupied slot as a region of the heap. */
  void register_region(const void* base, std::size_t bytes) const noexcept {
    if (heap_ != nullptr) [[unlikely]] {
      Calls::register_region(heap_, reinterpret_cast<std::uintptr_t>(base), bytes);
    }
  }

  /** @brief Unregisters the region that starts at @p base. */
  void unregister_region(const void* base) const noexcept {
    if (heap_ != nullptr) [[unlikely]] {
      Calls::unregister_region(reinterpret_cast<std::uintptr_t>(base));
    }
  }

 private:
  std::array<nvtxStringHandle_t, static_cast<std::size_t>(Op::Count)> strings_{};
  std::uint32_t category_;
  bool active_;
  nvtxMemHeapHandle_t heap_ = nullptr;
};

}  // namespace on
#else
inline namespace off {

inline constexpr bool enabled = false;

/** @brief Annotations compiled out: every call is an empty inline function. */
class Annotator {
 public:
  Annotator(std::string_view, MemoryClass) noexcept {}
  /// Empty, with a user-provided destructor so an unused range is not a warning.
  struct Range {
    Range() noexcept {}
    ~Range() {}
  };
  [[nodiscard]] Range range(Op) const noexcept { return {}; }
  [[nodiscard]] static constexpr bool active() noexcept { return false; }
  void mark(MemoryError) const noexcept {}
  void register_heap(const void*, std::size_t) noexcept {}
  void unregister_heap() noexcept {}
  void register_region(const void*, std::size_t) const noexcept {}
  void unregister_region(const void*) const noexcept {}
};

}  // namespace off
#endif

}  // namespace limen::detail::nvtx
