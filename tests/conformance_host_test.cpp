// SPDX-License-Identifier: Apache-2.0
// The conformance suite (conformance_suite.hpp) over the host managers:
// StaticManager, HeapManager, ConcurrentManager and a handle on one.
#include "conformance_suite.hpp"

#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <cstddef>

namespace limen::test {
namespace {

/// A ConcurrentManager's handle, as the only owner of the storage (the manager is gone).
struct ConcurrentHandleOnly : ConcurrentHandle<TestTensor> {
  explicit ConcurrentHandleOnly(std::size_t capacity)
      : ConcurrentHandle<TestTensor>(ConcurrentManager<TestTensor>(capacity).scoped_handle()) {}
};

// One line per manager.
using HostManagers = ::testing::Types<StaticManager<TestTensor, kCapacity>, HeapManager<TestTensor>,
                                      ConcurrentManager<TestTensor>, ConcurrentHandleOnly>;
INSTANTIATE_TYPED_TEST_SUITE_P(Host, Conformance, HostManagers);

}  // namespace
}  // namespace limen::test
