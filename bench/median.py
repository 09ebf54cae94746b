#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runs a limen benchmark binary as N separate processes and prints each
ratio's median and range over them (and each run's median items/s).

On shared machines one process can stay in one state (a slow core, a noisy
neighbour) for its whole life, so a ratio from a single run moves by tens of
percent; judge the median over processes instead.

  python3 bench/median.py [-n 5] BINARY [benchmark flags ...]
  python3 bench/median.py [-n 5] --baseline OLD_BINARY BINARY [flags ...]

The ratios are the ones the binary defines (RatioReporter writes them into
the JSON context). With --baseline, the two binaries run alternately and each
run's items/s is also compared with the same run of OLD_BINARY: that is how a
change is checked for a regression (for example limen_bench_fallback built
before and after it).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def run_once(binary, flags):
    """(items/s by run name, ratio definitions) from one process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        subprocess.run([binary, *flags, f"--benchmark_out={out}", "--benchmark_out_format=json"],
                       check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            data = json.load(f)
    rates = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        if "items_per_second" in b and not b.get("error_occurred"):
            rates[b["run_name"]] = b["items_per_second"]
    ratios = []
    for key, spec in data.get("context", {}).items():
        if not key.startswith("ratio: "):
            continue
        fields = dict(part.split("=", 1) for part in spec.split(";"))
        if fields.get("metric") == "items_per_second":
            ratios.append((key[len("ratio: "):], fields["num"], fields["den"].split(",")))
    return rates, ratios


def ratio_value(rates, num, dens):
    den = max((rates[d] for d in dens if d in rates), default=0)
    return rates[num] / den if num in rates and den > 0 else None


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    return f"{statistics.median(values):6.2f}x  ({min(values):.2f}-{max(values):.2f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--processes", type=int, default=5)
    parser.add_argument("--baseline", help="another build of the same benchmark to compare with")
    parser.add_argument("binary")
    parser.add_argument("flags", nargs=argparse.REMAINDER)
    args = parser.parse_args()

    samples, base_samples, ratios = [], [], []
    for i in range(args.processes):
        if args.baseline:
            base_samples.append(run_once(args.baseline, args.flags)[0])
        rates, ratios = run_once(args.binary, args.flags)
        samples.append(rates)
        print(f"process {i + 1}/{args.processes} done", file=sys.stderr)

    print(f"{args.binary}: medians over {args.processes} processes (range in brackets)\n")
    print(f"{'ratio (items/s, same process)':<60} median  (range)")
    for label, num, dens in ratios:
        print(f"{label:<60} {summary([ratio_value(s, num, dens) for s in samples])}")
    names = sorted({name for s in samples for name in s})
    print(f"\n{'run':<44} {'median items/s':>16}" + ("   vs baseline (range)" if args.baseline else ""))
    for name in names:
        rates = [s[name] for s in samples if name in s]
        line = f"{name:<44} {statistics.median(rates):16.4g}"
        if args.baseline:
            pairs = [s.get(name) / b[name] for s, b in zip(samples, base_samples)
                     if name in b and s.get(name)]
            line += "   " + summary(pairs)
        print(line)


if __name__ == "__main__":
    main()
