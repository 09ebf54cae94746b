// SPDX-License-Identifier: Apache-2.0
// The conformance suite (conformance_suite.hpp) over AnyManager, made by
// make_manager for every memory class.
#include "conformance_suite.hpp"

#include <limen/limen.hpp>

#include <gtest/gtest.h>

namespace limen::test {
namespace {

// One line per memory class.
using AnyManagers = ::testing::Types<AnyOf<MemoryKind::Host>, AnyOf<MemoryKind::PinnedHost>,
                                     AnyOf<MemoryKind::Device>, AnyOf<MemoryKind::Shared>>;
INSTANTIATE_TYPED_TEST_SUITE_P(Any, Conformance, AnyManagers);

}  // namespace
}  // namespace limen::test
