// SPDX-License-Identifier: Apache-2.0
// The runtime probe (what runtime_info() reports, once per process), run over
// the CPU device with injected failures: no device count, a device that
// cannot create a context (exclusive-process mode), none that can. Every
// failure means the CPU device with the reason, and the probe leaves neither
// a pending error nor another current device behind.
#include "device/api.hpp"
#include "runtime_state.hpp"

#include <limen/fault_injection.hpp>

#include <gtest/gtest.h>

namespace limen::test {
namespace {

using fault_injection::FaultKind;
namespace device = detail::device;

constexpr int kDevicesUnavailable = 46;  // cudaErrorDevicesUnavailable
constexpr int kInsufficientDriver = 35;  // cudaErrorInsufficientDriver

class Probe : public ::testing::Test {
 protected:
  void SetUp() override { fault_injection::reset(); }
  void TearDown() override {
    fault_injection::reset();
    (void)api().set_device(0);
    (void)api().get_last_error();
  }
  static device::Api& api() { return device::cpu(); }
  static int devices() {
    int n = 0;
    EXPECT_EQ(api().device_count(&n), 0);
    return n;
  }
};

TEST_F(Probe, AWorkingDeviceIsTheGpuPath) {
  const RuntimeInfo info = detail::probe_runtime(&api());
  EXPECT_FALSE(info.fallback_active) << info.fallback_reason;
  EXPECT_EQ(info.device_count, devices());
  ASSERT_EQ(info.devices.size(), static_cast<std::size_t>(devices()));
  EXPECT_FALSE(info.devices[0].context_error.has_value());
}

TEST_F(Probe, AFailedDeviceCountIsTheCpuDeviceAndLeavesNoPendingError) {
  fault_injection::inject_faults(FaultKind::DeviceCount, 1, kInsufficientDriver);
  const RuntimeInfo info = detail::probe_runtime(&api());
  EXPECT_TRUE(info.fallback_active);
  EXPECT_NE(info.fallback_reason.find("cudaGetDeviceCount failed: cudaErrorInsufficientDriver"),
            std::string::npos)
      << info.fallback_reason;
  EXPECT_EQ(api().peek_at_last_error(), 0) << "the probe's failure stayed the caller's last error";
}

TEST_F(Probe, NoDeviceThatCanCreateAContextIsTheCpuDevice) {
  const int n = devices();
  fault_injection::inject_faults(FaultKind::Context, static_cast<unsigned>(n) + 1,
                                 kDevicesUnavailable);  // every device, and the restore
  const RuntimeInfo info = detail::probe_runtime(&api());
  EXPECT_TRUE(info.fallback_active) << "managers would throw DeviceError instead of falling back";
  EXPECT_NE(info.fallback_reason.find("cudaErrorDevicesUnavailable"), std::string::npos)
      << info.fallback_reason;
  for (const DeviceInfo& d : info.devices) {
    ASSERT_TRUE(d.context_error.has_value()) << "device " << d.ordinal;
    EXPECT_EQ(d.context_error->code, kDevicesUnavailable);
    EXPECT_EQ(d.context_error->call, "cudaSetDevice");
  }
  EXPECT_EQ(api().peek_at_last_error(), 0);
}

TEST_F(Probe, ABusyDeviceLeavesTheNextAndKeepsTheCallersDevice) {
  if (devices() < 2) GTEST_SKIP() << "needs LIMEN_CPU_DEVICES=2 (ctest sets it)";
  fault_injection::inject_faults(FaultKind::Context, 1, kDevicesUnavailable);  // device 0 only
  const RuntimeInfo info = detail::probe_runtime(&api());
  EXPECT_FALSE(info.fallback_active) << info.fallback_reason;
  ASSERT_TRUE(info.devices[0].context_error.has_value());
  EXPECT_EQ(info.devices[0].context_error->name, "cudaErrorDevicesUnavailable");
  EXPECT_FALSE(info.devices[1].context_error.has_value());
  int current = -1;
  ASSERT_EQ(api().get_device(&current), 0);
  EXPECT_EQ(current, 0) << "the probe changed the caller's current device";
  EXPECT_EQ(api().peek_at_last_error(), 0);
}

// A process that chose its GPU (one rank per GPU) is probed on that GPU only:
// in exclusive-process mode, a context on another would take it from its owner.
TEST_F(Probe, TheCallersCurrentDeviceIsTriedFirstAndAlone) {
  if (devices() < 2) GTEST_SKIP() << "needs LIMEN_CPU_DEVICES=2 (ctest sets it)";
  ASSERT_EQ(api().set_device(1), 0);
  fault_injection::inject_faults(FaultKind::Context, 1, kDevicesUnavailable);
  const RuntimeInfo info = detail::probe_runtime(&api());
  // The first try (device 1) failed, so device 0 was tried next and worked.
  EXPECT_FALSE(info.fallback_active) << info.fallback_reason;
  ASSERT_TRUE(info.devices[1].context_error.has_value()) << "device 1 was not tried first";
  EXPECT_FALSE(info.devices[0].context_error.has_value());
  fault_injection::clear_faults();
  (void)api().get_last_error();
  const RuntimeInfo again = detail::probe_runtime(&api());  // device 1 works now
  EXPECT_FALSE(again.devices[0].context_error.has_value());
  EXPECT_FALSE(again.devices[1].context_error.has_value());
  int current = -1;
  ASSERT_EQ(api().get_device(&current), 0);
  EXPECT_EQ(current, 1) << "the probe changed the caller's current device";
}

}  // namespace
}  // namespace limen::test
