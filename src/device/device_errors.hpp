// SPDX-License-Identifier: Apache-2.0
// Which CUDA errors leave a context unusable. Read by the backends (to mark a
// device lost) and by the CPU device (which then fails every later call on
// that device, as a real context does), so it names codes by number and needs
// no CUDA header.
#pragma once

namespace limen::detail {

/// cudaErrorNotReady: "not finished yet", not a failure.
inline constexpr int cuda_not_ready = 600;

/**
 * @brief Whether CUDA error @p code is sticky: after it every call in the
 * process's context on that device fails, so nothing queued will ever run.
 * (A faulting kernel: illegal address or instruction, a failed launch, an
 * assert, a hardware or ECC error; the context itself destroyed.)
 */
[[nodiscard]] constexpr bool is_sticky_cuda_error(int code) noexcept {
  switch (code) {
    case 214:  // cudaErrorECCUncorrectable
    case 220:  // cudaErrorNvlinkUncorrectable
    case 700:  // cudaErrorIllegalAddress
    case 702:  // cudaErrorLaunchTimeout
    case 709:  // cudaErrorContextIsDestroyed
    case 710:  // cudaErrorAssert
    case 714:  // cudaErrorHardwareStackError
    case 715:  // cudaErrorIllegalInstruction
    case 716:  // cudaErrorMisalignedAddress
    case 717:  // cudaErrorInvalidAddressSpace
    case 718:  // cudaErrorInvalidPc
    case 719:  // cudaErrorLaunchFailure
    case 721:  // cudaErrorTensorMemoryLeak
      return true;
    default: return false;
  }
}

}  // namespace limen::detail
