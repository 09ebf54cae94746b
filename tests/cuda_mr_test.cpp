// SPDX-License-Identifier: Apache-2.0
// limen's pinned memory resource against CCCL's cuda::mr::resource concept.
// CCCL 3.0 keeps that concept experimental (behind a macro), so limen does not
// name it in its public headers; this test holds the resource to it anyway.
#define LIBCUDACXX_ENABLE_EXPERIMENTAL_MEMORY_RESOURCE
#include <cuda/memory_resource>

#include <limen/pinned_buffer_pool.hpp>

#include <gtest/gtest.h>

#include <cstdint>

namespace limen {
namespace {

static_assert(cuda::mr::resource<PinnedMemoryResource>,
              "PinnedMemoryResource must satisfy CCCL's cuda::mr::resource");

TEST(CudaMr, AllocatesAndDeallocatesThroughTheConcept) {
  PoolConfig c;
  c.chunk_bytes = 64 * 1024;
  PinnedBufferPool pool(c);
  auto& resource = static_cast<PinnedMemoryResource&>(*pool.resource());
  void* p = resource.allocate(1000, 256);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % 256, 0U);
  EXPECT_EQ(pool.stats().bytes_in_use, 1024U);
  resource.deallocate(p, 1000, 256);
  EXPECT_EQ(pool.stats().bytes_in_use, 0U);
  EXPECT_TRUE(resource == resource);
}

}  // namespace
}  // namespace limen
