// SPDX-License-Identifier: Apache-2.0
// Makes this thread's stream-capture mode relaxed for a scope. Another
// thread capturing in global mode (PyTorch's default) has its capture
// invalidated by "unsafe" calls on any thread (allocations, stream and event
// creation) unless the calling thread is relaxed; limen's own set-up calls
// (manager construction, pool growth) must never break a user's capture.
#pragma once

#include "device_handles.hpp"

namespace limen::detail {

class RelaxedCaptureMode {
 public:
  explicit RelaxedCaptureMode(device::Api& api) noexcept : api_(api) {
    ok_ = quietly(api_, api_.exchange_capture_mode(&mode_));
  }
  ~RelaxedCaptureMode() {
    if (ok_) quietly(api_, api_.exchange_capture_mode(&mode_));
  }
  RelaxedCaptureMode(const RelaxedCaptureMode&) = delete;
  RelaxedCaptureMode& operator=(const RelaxedCaptureMode&) = delete;

 private:
  device::Api& api_;
  device::CaptureMode mode_ = device::CaptureMode::Relaxed;
  bool ok_ = false;
};

}  // namespace limen::detail
