#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""GPU round trips through PyTorch and CuPy: the peers of limen_gpu_bench.

Each case does what limen_gpu_bench's device_round_trip does for one message:
take device memory from the library's pool, copy the payload in from pinned
host memory, copy it back out, wait once, give the memory back.

  torch: torch.empty on the caching allocator, copy_ in, copy_ out, one stream sync
  cupy:  cupy.empty from the default memory pool, set() in, get() out, one stream sync

Timing mirrors limen_gpu_bench: a warm-up, then the median of five repeats of
the mean over many iterations. With --json FILE the cases and the ratio
definitions (limen's device round trip over each peer) are written in Google
Benchmark's JSON shape; bench/report.py joins them with limen_gpu_bench's file.

  python3 bench/gpu_peers.py [--quick] [--json FILE]
    exit 0: ran; 77: no GPU or neither library installed (skipped); 1: every case failed
"""
import argparse
import json
import statistics
import sys
import time

SIZES = [("64B", 64), ("4KiB", 4096), ("1MiB", 1 << 20)]


def time_ns(op, iterations, repeats):
    """Median over repeats of the mean ns of `iterations` calls of op."""
    for _ in range(iterations // 10 + 1):
        op()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(iterations):
            op()
        runs.append((time.perf_counter_ns() - start) / iterations)
    return statistics.median(runs)


def iterations_for(nbytes, base):
    return max(20, base // 20) if nbytes >= (1 << 20) else base


def torch_cases(base, repeats):
    """(name, ns or None, error) for each size, or one error row when torch cannot run."""
    try:
        import torch
    except ImportError as e:
        return [("torch_round_trip", None, f"torch not installed ({e})")]
    if not torch.cuda.is_available():
        return [("torch_round_trip", None, "torch sees no CUDA device")]
    out = []
    stream = torch.cuda.Stream()
    for tag, nbytes in SIZES:
        src = torch.empty(nbytes, dtype=torch.uint8).pin_memory()
        dst = torch.empty(nbytes, dtype=torch.uint8).pin_memory()

        def op(src=src, dst=dst, nbytes=nbytes):
            with torch.cuda.stream(stream):
                d = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
                d.copy_(src, non_blocking=True)
                dst.copy_(d, non_blocking=True)
                del d  # back to the caching allocator, ordered on this stream
            stream.synchronize()

        out.append((f"torch_round_trip/{tag}", time_ns(op, iterations_for(nbytes, base), repeats), ""))
    return out


def cupy_cases(base, repeats):
    try:
        import cupy
        import cupyx
    except ImportError as e:
        return [("cupy_round_trip", None, f"cupy not installed ({e})")]
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return [("cupy_round_trip", None, "cupy sees no CUDA device")]
    except cupy.cuda.runtime.CUDARuntimeError as e:
        return [("cupy_round_trip", None, f"cupy sees no CUDA device ({e})")]
    out = []
    stream = cupy.cuda.Stream(non_blocking=True)
    for tag, nbytes in SIZES:
        src = cupyx.empty_pinned((nbytes,), dtype=cupy.uint8)
        dst = cupyx.empty_pinned((nbytes,), dtype=cupy.uint8)

        def op(src=src, dst=dst, nbytes=nbytes):
            with stream:
                d = cupy.empty((nbytes,), dtype=cupy.uint8)
                d.set(src, stream=stream)
                d.get(stream=stream, out=dst)
                del d  # back to the memory pool
            stream.synchronize()

        out.append((f"cupy_round_trip/{tag}", time_ns(op, iterations_for(nbytes, base), repeats), ""))
    return out


def gpu_name():
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    except Exception:  # noqa: BLE001 - any failure only means "name unknown"
        return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument("--json", metavar="FILE", help="write the cases for bench/report.py")
    args = parser.parse_args()
    base, repeats = (300, 3) if args.quick else (2000, 5)

    cases = []
    for run in (torch_cases, cupy_cases):
        try:
            cases += run(base, repeats)
        except Exception as e:  # noqa: BLE001 - a peer that breaks is reported, not fatal
            cases.append((run.__name__.replace("_cases", "_round_trip"), None, f"failed: {e}"))

    print(f"{'case':<44} {'ns/op':>14}")
    for name, ns, error in cases:
        print(f"{name:<44} {ns:>14.1f}" if ns is not None else f"{name:<44} {'error':>14}  ({error})")

    if args.json:
        context = {"gpu": gpu_name()}
        for peer, what in (("torch", "torch.empty+copy_"), ("cupy", "cupy.empty+set/get")):
            for tag, _ in SIZES:
                context[f"ratio: limen device / {what} (time), {tag}"] = (
                    f"num=device_round_trip/{tag};den={peer}_round_trip/{tag};metric=time")
        benchmarks = [
            {"name": n, "real_time": ns, "time_unit": "ns"} if ns is not None
            else {"name": n, "error_occurred": True, "error_message": e}
            for n, ns, e in cases
        ]
        with open(args.json, "w") as f:
            json.dump({"context": context, "benchmarks": benchmarks}, f, indent=2)

    if any(ns is not None for _, ns, _ in cases):
        return 0
    skipped = all("not installed" in e or "no CUDA device" in e for _, _, e in cases)
    return 77 if skipped else 1


if __name__ == "__main__":
    sys.exit(main())
