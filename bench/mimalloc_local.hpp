// SPDX-License-Identifier: Apache-2.0
// mimalloc's mi_malloc and mi_free for the benchmarks, without letting
// mimalloc replace the process's malloc.
//
// Debian's libmimalloc.so exports malloc and free as well as mi_malloc and
// mi_free: a program linked against it allocates from mimalloc everywhere
// (operator new, std::pmr's upstream resource, Google Benchmark), so a
// "new/delete" peer in the same binary would be mimalloc a second time. The
// library is loaded with dlopen(RTLD_LOCAL) instead, which keeps its malloc out
// of the global symbol scope: only the calls made through this class reach it.
// A call through the loaded pointer costs what a call through the PLT costs.
#pragma once

#include <dlfcn.h>

#include <cstddef>
#include <cstdio>

#ifndef LIMEN_BENCH_MIMALLOC_SO
#define LIMEN_BENCH_MIMALLOC_SO "libmimalloc.so.2"
#endif

namespace limen::bench {

class Mimalloc {
 public:
  /// The loaded library, or null (with a line on stderr) when it cannot be loaded.
  static const Mimalloc* get() {
    static const Mimalloc instance;
    return instance.malloc_ != nullptr && instance.free_ != nullptr ? &instance : nullptr;
  }

  [[nodiscard]] void* malloc(std::size_t bytes) const { return malloc_(bytes); }
  void free(void* p) const { free_(p); }

 private:
  using MallocFn = void* (*)(std::size_t);
  using FreeFn = void (*)(void*);

  Mimalloc() {
    void* library = dlopen(LIMEN_BENCH_MIMALLOC_SO, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      std::fprintf(stderr, "mimalloc: %s\n", dlerror());
      return;
    }
    // dlsym returns data pointers; POSIX guarantees they convert to function pointers.
    malloc_ = reinterpret_cast<MallocFn>(dlsym(library, "mi_malloc"));
    free_ = reinterpret_cast<FreeFn>(dlsym(library, "mi_free"));
  }

  MallocFn malloc_ = nullptr;
  FreeFn free_ = nullptr;
};

}  // namespace limen::bench
