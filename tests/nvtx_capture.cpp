// SPDX-License-Identifier: Apache-2.0
// The NVTX capture tool (see nvtx_capture.hpp). NVTX calls its two init
// functions through the strong symbols defined at the bottom; it then patches
// NVTX's function tables so that limen's calls land here. Registration
// (domains, strings, heaps) uses fixed storage so that it never allocates:
// the no-heap test of StaticManager runs with this tool attached.
#define NVTX_NO_IMPL
#include "nvtx_capture.hpp"

#include <nvtx3/nvToolsExt.h>
#include <nvtx3/nvToolsExtMem.h>

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

namespace nvtx_capture {
namespace {

struct Name {
  std::array<char, 160> text{};
};

std::atomic<bool> is_attached{false};
std::atomic<bool> recording{false};
std::mutex mutex;
std::vector<Event> log;

// Every manager registers its strings anew; the tables keep one entry per text
// (as NVTX tools may), so they grow with the distinct names, not with the managers made.
std::mutex registry_mutex;
std::array<Name, 16> domains;
std::size_t domain_count = 0;
std::array<Name, 4096> strings;
std::size_t string_count = 0;
std::array<char, 64> heaps[1024];
std::atomic<std::size_t> heap_count{0};

template <std::size_t N>
Name* remember(std::array<Name, N>& table, std::size_t& used, const char* text) {
  std::lock_guard lock(registry_mutex);
  constexpr std::size_t kLength = sizeof(Name::text) - 1;  // longer texts are cut there
  for (std::size_t i = 0; i < used; ++i) {
    if (std::strncmp(table[i].text.data(), text, kLength) == 0) return &table[i];
  }
  if (used >= N) return nullptr;
  std::strncpy(table[used].text.data(), text, kLength);
  return &table[used++];
}

const char* name_of(const void* handle) {
  return handle != nullptr ? static_cast<const Name*>(handle)->text.data() : "";
}

std::string message_of(const nvtxEventAttributes_t* a) {
  if (a == nullptr) return {};
  if (a->messageType == NVTX_MESSAGE_TYPE_REGISTERED) return name_of(a->message.registered);
  if (a->messageType == NVTX_MESSAGE_TYPE_ASCII && a->message.ascii) return a->message.ascii;
  return {};
}

void record(Event e) {
  if (!recording.load()) return;
  std::lock_guard lock(mutex);
  log.push_back(std::move(e));
}

// --- core2 hooks -------------------------------------------------------------
nvtxDomainHandle_t domain_create(const char* name) {
  return reinterpret_cast<nvtxDomainHandle_t>(remember(domains, domain_count, name));
}
nvtxStringHandle_t register_string(nvtxDomainHandle_t, const char* text) {
  return reinterpret_cast<nvtxStringHandle_t>(remember(strings, string_count, text));
}
void name_category(nvtxDomainHandle_t, std::uint32_t, const char*) {}
int push(nvtxDomainHandle_t d, const nvtxEventAttributes_t* a) {
  if (recording.load())
    record({"push", name_of(d), message_of(a), a ? a->category : 0U, nullptr, 0});
  return 0;
}
int pop(nvtxDomainHandle_t d) {
  if (recording.load()) record({"pop", name_of(d), {}, 0, nullptr, 0});
  return 0;
}
void mark(nvtxDomainHandle_t d, const nvtxEventAttributes_t* a) {
  if (recording.load())
    record({"mark", name_of(d), message_of(a), a ? a->category : 0U, nullptr, 0});
}

// --- memory-API hooks ----------------------------------------------------------
nvtxMemHeapHandle_t heap_register(nvtxDomainHandle_t d, const nvtxMemHeapDesc_t* desc) {
  const auto* range = static_cast<const nvtxMemVirtualRangeDesc_t*>(desc->typeSpecificDesc);
  if (recording.load()) record({"heap", name_of(d), {}, desc->category, range->ptr, range->size});
  const std::size_t i = heap_count.fetch_add(1) % 1024;
  return reinterpret_cast<nvtxMemHeapHandle_t>(&heaps[i]);
}
void heap_unregister(nvtxDomainHandle_t d, nvtxMemHeapHandle_t) {
  if (recording.load()) record({"heap_unregister", name_of(d), {}, 0, nullptr, 0});
}
void heap_reset(nvtxDomainHandle_t d, nvtxMemHeapHandle_t) {
  if (recording.load()) record({"heap_reset", name_of(d), {}, 0, nullptr, 0});
}
void regions_register(nvtxDomainHandle_t d, const nvtxMemRegionsRegisterBatch_t* b) {
  if (!recording.load()) return;
  const auto* r = static_cast<const nvtxMemVirtualRangeDesc_t*>(b->regionDescElements);
  for (std::size_t i = 0; i < b->regionCount; ++i) {
    record({"region", name_of(d), {}, 0, r[i].ptr, r[i].size});
  }
}
void regions_unregister(nvtxDomainHandle_t d, const nvtxMemRegionsUnregisterBatch_t* b) {
  if (!recording.load()) return;
  for (std::size_t i = 0; i < b->refCount; ++i) {
    record({"region_unregister", name_of(d), {}, 0, b->refElements[i].pointer, 0});
  }
}

template <class Fn>
void patch(NvtxFunctionTable table, unsigned size, unsigned id, Fn fn) {
  if (id < size && table[id] != nullptr) *table[id] = reinterpret_cast<NvtxFunctionPointer>(fn);
}

int NVTX_API initialize_core(NvtxGetExportTableFunc_t get) {
  const auto* callbacks = static_cast<const NvtxExportTableCallbacks*>(get(NVTX_ETID_CALLBACKS));
  NvtxFunctionTable t = nullptr;
  unsigned n = 0;
  if (callbacks == nullptr || !callbacks->GetModuleFunctionTable(NVTX_CB_MODULE_CORE2, &t, &n)) {
    return 0;
  }
  patch(t, n, NVTX_CBID_CORE2_DomainCreateA, &domain_create);
  patch(t, n, NVTX_CBID_CORE2_DomainRegisterStringA, &register_string);
  patch(t, n, NVTX_CBID_CORE2_DomainNameCategoryA, &name_category);
  patch(t, n, NVTX_CBID_CORE2_DomainRangePushEx, &push);
  patch(t, n, NVTX_CBID_CORE2_DomainRangePop, &pop);
  patch(t, n, NVTX_CBID_CORE2_DomainMarkEx, &mark);
  is_attached.store(true);
  return 1;
}

int NVTX_API initialize_extension(nvtxExtModuleInfo_t* info) {
  if (info->moduleId != NVTX_EXT_MODULEID_MEM) return 1;
  for (std::size_t s = 0; s < info->segmentsCount; ++s) {
    auto& seg = info->segments[s];
    auto set = [&](std::size_t id, auto fn) {
      if (id < seg.slotCount) seg.functionSlots[id] = reinterpret_cast<intptr_t>(fn);
    };
    set(NVTX3EXT_CBID_nvtxMemHeapRegister, &heap_register);
    set(NVTX3EXT_CBID_nvtxMemHeapUnregister, &heap_unregister);
    set(NVTX3EXT_CBID_nvtxMemHeapReset, &heap_reset);
    set(NVTX3EXT_CBID_nvtxMemRegionsRegister, &regions_register);
    set(NVTX3EXT_CBID_nvtxMemRegionsUnregister, &regions_unregister);
  }
  return 1;
}

}  // namespace

bool attached() {
  return is_attached.load();
}
void set_recording(bool on) {
  recording.store(on);
}
void reset() {
  std::lock_guard lock(mutex);
  log.clear();
}
std::vector<Event> events() {
  std::lock_guard lock(mutex);
  return log;
}
std::size_t count(const std::string& kind, const std::string& text) {
  std::lock_guard lock(mutex);
  std::size_t n = 0;
  for (const Event& e : log) n += e.kind == kind && (text.empty() || e.text == text) ? 1 : 0;
  return n;
}

}  // namespace nvtx_capture

// NVTX's static injection: these strong definitions replace NVTX's weak null pointers.
extern "C" {
NvtxInitializeInjectionNvtxFunc_t InitializeInjectionNvtx2_fnptr = &nvtx_capture::initialize_core;
NvtxExtInitializeInjectionFunc_t InitializeInjectionNvtxExtension_fnptr =
    &nvtx_capture::initialize_extension;
}
