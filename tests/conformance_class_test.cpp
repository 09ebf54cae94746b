// SPDX-License-Identifier: Apache-2.0
// The conformance suite (conformance_suite.hpp) over the pinned, device and
// shared managers, single-threaded and thread-safe.
#include "conformance_suite.hpp"

#include <limen/limen.hpp>

#include <gtest/gtest.h>

namespace limen::test {
namespace {

// One line per manager.
using ClassManagers =
    ::testing::Types<PinnedManager<TestTensor>, DeviceManager<TestTensor>,
                     SharedManager<TestTensor>, ThreadSafe<PinnedManager<TestTensor>>,
                     ThreadSafe<DeviceManager<TestTensor>>, ThreadSafe<SharedManager<TestTensor>>>;
INSTANTIATE_TYPED_TEST_SUITE_P(Class, Conformance, ClassManagers);

}  // namespace
}  // namespace limen::test
