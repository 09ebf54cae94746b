# CUDA detection for limen. See shared/reference/toolchain.md for the CMake
# 3.25 + nvcc 13 traps handled here.
#
# Sets LIMEN_HAVE_CUDA (nvcc found and enabled) and LIMEN_HAVE_NVTX (NVTX3
# headers found and LIMEN_NVTX on). Neither is required: without them the
# library builds with g++ alone and the CPU fallback serves every class.
find_package(Threads REQUIRED)

set(LIMEN_HAVE_CUDA OFF)
if(LIMEN_CUDA)
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
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
    set(LIMEN_HAVE_CUDA ON)
  else()
    message(STATUS "limen: no CUDA compiler found; building the CPU fallback only")
  endif()
else()
  message(STATUS "limen: LIMEN_CUDA=OFF; building the CPU fallback only")
endif()

# Headers (NVTX, CCCL) are usable even without the CUDA language.
find_package(CUDAToolkit QUIET)

set(LIMEN_HAVE_NVTX OFF)
if(LIMEN_NVTX AND TARGET CUDA::nvtx3)
  set(LIMEN_HAVE_NVTX ON)
endif()

message(STATUS "limen: CUDA backend ${LIMEN_HAVE_CUDA}, NVTX ${LIMEN_HAVE_NVTX}")

# Adds the CUDA/NVTX sources, definitions and libraries to target TARGET.
function(limen_configure_cuda target)
  if(LIMEN_HAVE_CUDA)
    target_compile_definitions(${target} PUBLIC LIMEN_HAVE_CUDA=1)
    target_sources(${target} PRIVATE ${PROJECT_SOURCE_DIR}/src/cuda_arena.cpp)
    # Runtime API only: never CUDA::cuda_driver, or the binary would not start without a driver.
    target_link_libraries(${target} PUBLIC CUDA::cudart)
  endif()
endfunction()

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
