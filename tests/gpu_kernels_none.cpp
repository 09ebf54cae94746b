// SPDX-License-Identifier: Apache-2.0
// The test kernels where limen was built without nvcc: there is no GPU to run
// them on (limen runs on the CPU device), so each reports cudaErrorNotSupported.
#include "gpu_kernels.hpp"

namespace limen::test::kernels {
namespace {
constexpr int kNotSupported = 801;
}  // namespace

int fill_through_view(DeviceSlotView<TestTensor>, std::uint32_t, std::uint32_t, StreamHandle) {
  return kNotSupported;
}
int fill_through_pointer(TestTensor*, std::uint32_t, StreamHandle) { return kNotSupported; }
int spin_then_fill(TestTensor*, std::uint32_t, std::uint64_t, StreamHandle) {
  return kNotSupported;
}
int spin(std::uint64_t, StreamHandle) { return kNotSupported; }
int fault_illegal_address(StreamHandle) { return kNotSupported; }
int checksum_items(const TestTensor*, std::size_t, std::uint64_t*, StreamHandle) {
  return kNotSupported;
}
int checksum_slots(DeviceSlotView<TestTensor>, const std::uint32_t*, std::size_t, std::uint64_t*,
                   StreamHandle) {
  return kNotSupported;
}
int* gate_flag_create() { return nullptr; }
void gate_flag_open(int*) {}
void gate_flag_destroy(int*) {}
int wait_for_flag(const int*, StreamHandle) { return kNotSupported; }
int checksum_slots_of(DeviceSlotView<TestTensor>, const std::uint32_t*, std::size_t,
                      std::uint64_t*, StreamHandle) {
  return kNotSupported;
}
int checksum_items_of(const TestTensor*, std::size_t, std::uint64_t*, StreamHandle) {
  return kNotSupported;
}
int write_bytes(void*, const void*, std::size_t, StreamHandle) { return kNotSupported; }
int read_bytes(void*, const void*, std::size_t, StreamHandle) { return kNotSupported; }

}  // namespace limen::test::kernels
