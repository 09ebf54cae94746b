// SPDX-License-Identifier: Apache-2.0
// limen's NVTX calls, compiled once (see include/limen/detail/nvtx.hpp).
#include <limen/detail/nvtx.hpp>

#if LIMEN_BUILD_NVTX
#include <nvtx3/nvToolsExt.h>
#include <nvtx3/nvToolsExtMem.h>

#include <cstdio>
#endif

namespace limen::detail::nvtx {

#if LIMEN_BUILD_NVTX
namespace {

constexpr const char* op_names[] = {"store",    "free",      "sync",  "copy_h2d",   "copy_d2h",
                                    "prefetch", "lease_end", "batch", "chunk_alloc"};
static_assert(std::size(op_names) == static_cast<std::size_t>(Op::Count));

/** @brief The NVTX category of a memory class (its kind's row in kind_table). */
constexpr std::uint32_t category_of(MemoryKind kind) noexcept {
  return detail::kind_traits(kind).nvtx_category;
}

/**
 * @brief The `limen` domain, created once. Initialising NVTX here, inside a
 * magic static, finishes NVTX's lazy set-up before any thread annotates, which
 * avoids the race TSan reports in NVTX's first call.
 */
nvtxDomainHandle_t domain() noexcept {
  static const nvtxDomainHandle_t handle = [] {
    nvtxInitialize(nullptr);
    nvtxDomainHandle_t d = nvtxDomainCreateA("limen");
    for (const detail::KindTraits& row : detail::kind_table) {
      nvtxDomainNameCategoryA(d, row.nvtx_category, row.name);
    }
    return d;
  }();
  return handle;
}

nvtxEventAttributes_t attributes(std::uint32_t category) noexcept {
  nvtxEventAttributes_t attr{};
  attr.version = NVTX_VERSION;
  attr.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
  attr.category = category;
  return attr;
}

nvtxMemHeapHandle_t heap_handle(void* heap) noexcept {
  return static_cast<nvtxMemHeapHandle_t>(heap);
}

}  // namespace

bool compiled_in() noexcept {
  return true;
}

bool tool_attached() noexcept {
  // With no tool attached NVTX hands out null domains.
  return domain() != nullptr;
}

Annotator::Annotator(std::string_view name, MemoryClass memory_class) noexcept
    : category_(category_of(memory_class.kind())), active_(tool_attached()) {
  if (!active_) return;
  char text[160];
  for (std::size_t op = 0; op < static_cast<std::size_t>(Op::Count); ++op) {
    std::snprintf(text, sizeof text, "%.*s/%s", static_cast<int>(name.size()), name.data(),
                  op_names[op]);
    strings_[op] = nvtxDomainRegisterStringA(domain(), text);
  }
}

Annotator::~Annotator() {
  // Resetting the heap unregisters every region still in it.
  if (heap_ != nullptr) drop_heap(heap_);
}

void Annotator::push(Op op) const noexcept {
  nvtxEventAttributes_t attr = attributes(category_);
  attr.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
  attr.message.registered =
      static_cast<nvtxStringHandle_t>(const_cast<void*>(strings_[static_cast<std::size_t>(op)]));
  nvtxDomainRangePushEx(domain(), &attr);
}

void Annotator::pop() noexcept {
  nvtxDomainRangePop(domain());
}

void Annotator::mark_error(MemoryError error) const noexcept {
  nvtxEventAttributes_t attr = attributes(category_);
  attr.messageType = NVTX_MESSAGE_TYPE_ASCII;
  // to_string returns views of string literals, so data() is NUL-terminated.
  attr.message.ascii = to_string(error).data();
  nvtxDomainMarkEx(domain(), &attr);
}

void Annotator::add_heap(const void* base, std::size_t bytes) noexcept {
  heap_ = new_heap(base, bytes);
}

void* Annotator::new_heap(const void* base, std::size_t bytes) const noexcept {
  nvtxMemVirtualRangeDesc_t range{bytes, base};
  nvtxMemHeapDesc_t desc{};
  desc.extCompatID = NVTX_EXT_COMPATID_MEM;
  desc.structSize = sizeof(desc);
  desc.usage = NVTX_MEM_HEAP_USAGE_TYPE_SUB_ALLOCATOR;
  desc.type = NVTX_MEM_TYPE_VIRTUAL_ADDRESS;
  desc.typeSpecificDescSize = sizeof(range);
  desc.typeSpecificDesc = &range;
  desc.category = category_;
  return nvtxMemHeapRegister(domain(), &desc);
}

void Annotator::drop_heap(void* heap) const noexcept {
  nvtxMemHeapReset(domain(), heap_handle(heap));
  nvtxMemHeapUnregister(domain(), heap_handle(heap));
}

void Annotator::add_region(const void* base, std::size_t bytes) const noexcept {
  add_region_to(heap_, base, bytes);
}

void Annotator::add_region_to(void* heap, const void* base, std::size_t bytes) const noexcept {
  nvtxMemVirtualRangeDesc_t range{bytes, base};
  nvtxMemRegionsRegisterBatch_t batch{};
  batch.extCompatID = NVTX_EXT_COMPATID_MEM;
  batch.structSize = sizeof(batch);
  batch.regionType = NVTX_MEM_TYPE_VIRTUAL_ADDRESS;
  batch.heap = heap_handle(heap);
  batch.regionCount = 1;
  batch.regionDescElementSize = sizeof(range);
  batch.regionDescElements = &range;
  nvtxMemRegionsRegister(domain(), &batch);
}

void Annotator::remove_region(const void* base) const noexcept {
  nvtxMemRegionRef_t ref{};
  ref.pointer = base;
  nvtxMemRegionsUnregisterBatch_t batch{};
  batch.extCompatID = NVTX_EXT_COMPATID_MEM;
  batch.structSize = sizeof(batch);
  batch.refType = NVTX_MEM_REGION_REF_TYPE_POINTER;
  batch.refCount = 1;
  batch.refElementSize = sizeof(ref);
  batch.refElements = &ref;
  nvtxMemRegionsUnregister(domain(), &batch);
}

#else  // built without NVTX: annotators are never active, so nothing below runs.

bool compiled_in() noexcept {
  return false;
}
bool tool_attached() noexcept {
  return false;
}
Annotator::Annotator(std::string_view, MemoryClass) noexcept {}
Annotator::~Annotator() = default;
void Annotator::push(Op) const noexcept {}
void Annotator::pop() noexcept {}
void Annotator::mark_error(MemoryError) const noexcept {}
void Annotator::add_heap(const void*, std::size_t) noexcept {}
void Annotator::add_region(const void*, std::size_t) const noexcept {}
void Annotator::remove_region(const void*) const noexcept {}
void* Annotator::new_heap(const void*, std::size_t) const noexcept {
  return nullptr;
}
void Annotator::drop_heap(void*) const noexcept {}
void Annotator::add_region_to(void*, const void*, std::size_t) const noexcept {}

#endif

}  // namespace limen::detail::nvtx
