// SPDX-License-Identifier: Apache-2.0
// Kernels for the gpu-labelled tests: they write slots through a DeviceSlotView
// or a lease's device pointer, optionally after spinning (a long-running
// kernel), and one faults on purpose.
#include "gpu_kernels.hpp"

#include <cuda_runtime_api.h>

namespace limen::test::kernels {
namespace {

// std::array's accessors are host-only constexpr functions; the tensor is nine
// u32 in a row, so write them through a plain pointer.
__device__ void fill(TestTensor& t, std::uint32_t value) {
  auto* words = reinterpret_cast<std::uint32_t*>(&t);
  for (int i = 0; i < 9; ++i) words[i] = value;
}

__device__ std::uint64_t global_nanoseconds() {
  std::uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__device__ void spin_for(std::uint64_t ns) {
  const std::uint64_t start = global_nanoseconds();
  while (global_nanoseconds() - start < ns) {
  }
}

__global__ void fill_view_kernel(DeviceSlotView<TestTensor> view, std::uint32_t index,
                                 std::uint32_t value) {
  fill(view[index], value);
}

__global__ void fill_pointer_kernel(TestTensor* target, std::uint32_t value) {
  fill(*target, value);
}

__global__ void spin_then_fill_kernel(TestTensor* target, std::uint32_t value, std::uint64_t ns) {
  spin_for(ns);
  fill(*target, value);
}

__global__ void spin_kernel(std::uint64_t ns) {
  spin_for(ns);
}

__global__ void fault_kernel(volatile std::uint32_t* nowhere) {
  *nowhere = 1;
}

__device__ std::uint64_t sum_of(const TestTensor& t) {
  const auto* words = reinterpret_cast<const std::uint32_t*>(&t);
  std::uint64_t sum = 0;
  for (int i = 0; i < 9; ++i) sum += words[i];
  return sum;
}

__global__ void checksum_items_kernel(const TestTensor* items, std::size_t n, std::uint64_t* out) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += sum_of(items[i]);
  *out = sum;
}

__global__ void checksum_slots_kernel(DeviceSlotView<TestTensor> view, const std::uint32_t* indices,
                                      std::size_t n, std::uint64_t* out) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += sum_of(view[indices[i]]);
  *out = sum;
}

constexpr std::size_t kChunk = 256;
struct Chunk {
  unsigned char bytes[kChunk];
};

__global__ void write_chunk_kernel(unsigned char* target, Chunk chunk, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) target[i] = chunk.bytes[i];
}

__global__ void wait_for_flag_kernel(const volatile int* flag) {
  while (*flag == 0) {
  }
}

int launched() {
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int fill_through_view(DeviceSlotView<TestTensor> view, std::uint32_t index, std::uint32_t value,
                      StreamHandle stream) {
  fill_view_kernel<<<1, 1, 0, stream.native()>>>(view, index, value);
  return launched();
}

int fill_through_pointer(TestTensor* target, std::uint32_t value, StreamHandle stream) {
  fill_pointer_kernel<<<1, 1, 0, stream.native()>>>(target, value);
  return launched();
}

int spin_then_fill(TestTensor* target, std::uint32_t value, std::uint64_t nanoseconds,
                   StreamHandle stream) {
  spin_then_fill_kernel<<<1, 1, 0, stream.native()>>>(target, value, nanoseconds);
  return launched();
}

int spin(std::uint64_t nanoseconds, StreamHandle stream) {
  spin_kernel<<<1, 1, 0, stream.native()>>>(nanoseconds);
  return launched();
}

int checksum_items(const TestTensor* items, std::size_t n, std::uint64_t* out, StreamHandle stream) {
  checksum_items_kernel<<<1, 1, 0, stream.native()>>>(items, n, out);
  return launched();
}

int checksum_slots(DeviceSlotView<TestTensor> view, const std::uint32_t* indices, std::size_t n,
                   std::uint64_t* out, StreamHandle stream) {
  checksum_slots_kernel<<<1, 1, 0, stream.native()>>>(view, indices, n, out);
  return launched();
}

int* gate_flag_create() {
  void* p = nullptr;
  if (cudaHostAlloc(&p, sizeof(int), cudaHostAllocMapped) != cudaSuccess) return nullptr;
  *static_cast<volatile int*>(p) = 0;
  return static_cast<int*>(p);
}

void gate_flag_open(int* flag) {
  if (flag != nullptr) *static_cast<volatile int*>(flag) = 1;
}

void gate_flag_destroy(int* flag) {
  if (flag != nullptr) (void)cudaFreeHost(flag);
}

int wait_for_flag(const int* flag, StreamHandle stream) {
  if (flag == nullptr) return static_cast<int>(cudaErrorMemoryAllocation);
  int* device_flag = nullptr;
  const cudaError_t mapped = cudaHostGetDevicePointer(reinterpret_cast<void**>(&device_flag),
                                                      const_cast<int*>(flag), 0);
  if (mapped != cudaSuccess) return static_cast<int>(mapped);
  wait_for_flag_kernel<<<1, 1, 0, stream.native()>>>(device_flag);
  return launched();
}

int write_bytes(void* target, const void* source, std::size_t bytes, StreamHandle stream) {
  auto* to = static_cast<unsigned char*>(target);
  const auto* from = static_cast<const unsigned char*>(source);
  for (std::size_t done = 0; done < bytes; done += kChunk) {
    Chunk chunk{};
    const std::size_t n = bytes - done < kChunk ? bytes - done : kChunk;
    for (std::size_t i = 0; i < n; ++i) chunk.bytes[i] = from[done + i];
    write_chunk_kernel<<<1, 1, 0, stream.native()>>>(to + done, chunk, n);
    if (const int error = launched(); error != 0) return error;
  }
  return 0;
}

int checksum_slots_of(DeviceSlotView<TestTensor> view, const std::uint32_t* indices,
                      std::size_t n, std::uint64_t* sum, StreamHandle stream) {
  std::uint32_t* device_indices = nullptr;
  std::uint64_t* device_sum = nullptr;
  cudaError_t error = cudaMalloc(&device_indices, n * sizeof(std::uint32_t) + 1);
  if (error == cudaSuccess) error = cudaMalloc(&device_sum, sizeof(std::uint64_t));
  if (error == cudaSuccess) {
    error = cudaMemcpyAsync(device_indices, indices, n * sizeof(std::uint32_t),
                            cudaMemcpyHostToDevice, stream.native());
  }
  if (error == cudaSuccess) {
    checksum_slots_kernel<<<1, 1, 0, stream.native()>>>(view, device_indices, n, device_sum);
    error = cudaGetLastError();
  }
  if (error == cudaSuccess) {
    error = cudaMemcpyAsync(sum, device_sum, sizeof(std::uint64_t), cudaMemcpyDeviceToHost,
                            stream.native());
  }
  if (error == cudaSuccess) error = cudaStreamSynchronize(stream.native());
  (void)cudaFree(device_indices);
  (void)cudaFree(device_sum);
  return static_cast<int>(error);
}

int checksum_items_of(const TestTensor* items, std::size_t n, std::uint64_t* sum,
                      StreamHandle stream) {
  std::uint64_t* device_sum = nullptr;
  cudaError_t error = cudaMalloc(&device_sum, sizeof(std::uint64_t));
  if (error == cudaSuccess) {
    checksum_items_kernel<<<1, 1, 0, stream.native()>>>(items, n, device_sum);
    error = cudaGetLastError();
  }
  if (error == cudaSuccess) {
    error = cudaMemcpyAsync(sum, device_sum, sizeof(std::uint64_t), cudaMemcpyDeviceToHost,
                            stream.native());
  }
  if (error == cudaSuccess) error = cudaStreamSynchronize(stream.native());
  (void)cudaFree(device_sum);
  return static_cast<int>(error);
}

int read_bytes(void* target, const void* source, std::size_t bytes, StreamHandle stream) {
  cudaError_t error =
      cudaMemcpyAsync(target, source, bytes, cudaMemcpyDefault, stream.native());
  if (error == cudaSuccess) error = cudaStreamSynchronize(stream.native());
  return static_cast<int>(error);
}

int fault_illegal_address(StreamHandle stream) {
  fault_kernel<<<1, 1, 0, stream.native()>>>(reinterpret_cast<volatile std::uint32_t*>(0x8));
  return launched();
}

}  // namespace limen::test::kernels
