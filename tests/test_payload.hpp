// SPDX-License-Identifier: Apache-2.0
// The payload the tests store: shared by host tests and the test kernels (nvcc).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace limen::test {

/// The original suite's payload: a 3x3 u32 tensor, 36 payload bytes.
struct TestTensor {
  std::array<std::uint32_t, 9> data{};
  [[nodiscard]] std::size_t payload_bytes() const noexcept { return sizeof(data); }
  friend bool operator==(const TestTensor&, const TestTensor&) = default;
};

}  // namespace limen::test
