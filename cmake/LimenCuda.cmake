# SPDX-License-Identifier: Apache-2.0
# CUDA and NVTX detection for limen. See shared/reference/toolchain.md for the
# CMake 3.25 + nvcc 13 traps handled here.
#
# LIMEN_HAVE_CUDA          the CUDA runtime library was found: limen's own
#                          sources (C++) link it and use a GPU when one works.
# LIMEN_HAVE_CUDA_KERNELS  nvcc was found as well: the .cu files in cuda/ are built.
# LIMEN_HAVE_NVTX          the NVTX3 headers were found and LIMEN_NVTX is on.
# None is required: without them the library builds with g++ alone and the CPU
# fallback serves every memory class.
#
# Supported toolkits: CUDA 12.2 and later (12.2 added the cudaMemLocation form
# of cudaMemPrefetchAsync that the managed class uses; 13.0 made it the only
# form, src/device/cuda_api.cpp picks it by CUDART_VERSION). An older toolkit
# is not used: the build is the CPU fallback, and configure says why.
set(LIMEN_MIN_CUDA_VERSION 12.2)
find_package(Threads REQUIRED)

set(LIMEN_HAVE_CUDA OFF)
set(LIMEN_HAVE_CUDA_KERNELS OFF)
if(LIMEN_CUDA)
  find_package(CUDAToolkit QUIET)
  if(TARGET CUDA::cudart AND CUDAToolkit_VERSION VERSION_LESS LIMEN_MIN_CUDA_VERSION)
    message(WARNING "limen: CUDA ${CUDAToolkit_VERSION} is older than the ${LIMEN_MIN_CUDA_VERSION} "
                    "limen needs; building the CPU fallback only")
  elseif(TARGET CUDA::cudart)
    set(LIMEN_HAVE_CUDA ON)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(LIMEN_HAVE_CUDA AND CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      # sm_90 SASS for H100/H200 plus compute_90 PTX that newer GPUs can JIT.
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    # One cudart only: without this, CUDA::cudart and the default static runtime both link.
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
    enable_language(CUDA)
    # CMake 3.25 knows nvcc dialects only up to C++17.
    if(NOT DEFINED CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
      set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
      set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(LIMEN_HAVE_CUDA_KERNELS ON)
  elseif(LIMEN_HAVE_CUDA)
    message(STATUS "limen: CUDA runtime found but no CUDA compiler: batches use copies, not kernels")
  elseif(NOT TARGET CUDA::cudart)
    message(STATUS "limen: no CUDA runtime found; building the CPU fallback only")
  endif()
else()
  # Never probe for a compiler, but the toolkit's headers (NVTX, CCCL) are still welcome.
  find_package(CUDAToolkit QUIET)
  message(STATUS "limen: LIMEN_CUDA=OFF; building the CPU fallback only")
endif()

set(LIMEN_HAVE_NVTX OFF)
if(LIMEN_NVTX AND TARGET CUDA::nvtx3 AND EXISTS "${CUDAToolkit_INCLUDE_DIRS}/nvtx3/nvToolsExt.h")
  set(LIMEN_HAVE_NVTX ON)
endif()

message(STATUS "limen: CUDA runtime ${LIMEN_HAVE_CUDA}, kernels ${LIMEN_HAVE_CUDA_KERNELS}, "
               "NVTX ${LIMEN_HAVE_NVTX}, fault injection ${LIMEN_FAULT_INJECTION}")

# Compiles target TARGET's NVTX calls (src/nvtx.cpp) in when ENABLED, out otherwise.
# Only that one file sees NVTX: no type's layout depends on it.
function(limen_configure_nvtx target enabled)
  if(enabled)
    target_compile_definitions(${target} PRIVATE LIMEN_BUILD_NVTX=1)
    target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:CUDA::nvtx3>)
  else()
    target_compile_definitions(${target} PRIVATE LIMEN_BUILD_NVTX=0)
  endif()
endfunction()
