#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns limen benchmark JSON into a markdown table of ratios and a PNG chart.

Inputs are Google Benchmark JSON files (`--benchmark_out=FILE`) from limen's
benchmarks, and the files limen_gpu_bench and gpu_peers.py write with --json.
Each file carries its ratio definitions in its context ("ratio: <label>" ->
"num=<run>;den=<run>[,<run>...];metric=items_per_second|time"); a ratio whose
runs are spread over several files (limen's GPU round trip over torch's) is
computed once all the files are read. A ratio only means something between
runs made together on one machine: give it files written in one session.

  python3 bench/report.py FILE.json [FILE.json ...] [--out DIR]

Writes DIR/report.md (ratios, then every run) and DIR/ratios.png (needs
matplotlib: `pip install matplotlib` or Debian's python3-matplotlib; without
it the markdown is still written and the script says why no chart was drawn).
DIR defaults to build/bench. The markdown also goes to stdout.
"""
import argparse
import json
import os
import statistics
import sys

TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class Run:
    def __init__(self, name, ns=None, rate=None, error=""):
        self.name, self.ns, self.rate, self.error = name, ns, rate, error


def load(paths):
    """(runs by name, ratio definitions in order, context notes) from all files."""
    samples, runs, ratios, notes = {}, {}, [], []
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        context = data.get("context", {})
        for key, value in context.items():
            if key.startswith("ratio: "):
                spec = dict(part.split("=", 1) for part in value.split(";"))
                ratios.append((key[len("ratio: "):], spec["num"], spec["den"].split(","),
                               spec.get("metric", "items_per_second")))
        for key in ("host_name", "gpu", "num_cpus", "mhz_per_cpu", "library_build_type"):
            if key in context:
                notes.append(f"{os.path.basename(path)}: {key} = {context[key]}")
        for b in data.get("benchmarks", []):
            name = b.get("run_name", b["name"])
            if b.get("error_occurred"):
                runs[name] = Run(name, error=b.get("error_message", "error"))
                continue
            ns = b["real_time"] * TIME_UNITS[b.get("time_unit", "ns")] if "real_time" in b else None
            run = Run(name, ns, b.get("items_per_second"))
            if b.get("run_type") == "aggregate":
                if b.get("aggregate_name") == "median":
                    runs[name] = run  # the median of repetitions wins over single runs
                continue
            samples.setdefault(name, []).append(run)
    for name, group in samples.items():
        if name in runs:
            continue
        # Repetitions without aggregates: the median of each measure.
        ns = [r.ns for r in group if r.ns is not None]
        rates = [r.rate for r in group if r.rate is not None]
        runs[name] = Run(name, statistics.median(ns) if ns else None,
                         statistics.median(rates) if rates else None)
    return runs, ratios, notes


def ratio_value(runs, num, dens, metric):
    """The ratio, or None when a run is missing or failed."""
    def measure(name):
        run = runs.get(name)
        if run is None or run.error:
            return None
        return run.rate if metric == "items_per_second" else run.ns

    top = measure(num)
    bottoms = [v for v in (measure(d) for d in dens) if v]
    if top is None or not bottoms:
        return None
    # Throughput: against the fastest denominator. Time: against the quickest one.
    return top / (max(bottoms) if metric == "items_per_second" else min(bottoms))


def markdown(runs, ratios, notes):
    lines = ["## Ratios (same run)", "",
             "| ratio | value | measure |", "|---|---:|---|"]
    for label, num, dens, metric in ratios:
        value = ratio_value(runs, num, dens, metric)
        shown = f"{value:.2f}×" if value is not None else "n/a"
        measure = "throughput" if metric == "items_per_second" else "time"
        lines.append(f"| {label} | {shown} | {measure} |")
    lines += ["", "## Runs", "", "| run | ns/op | items/s |", "|---|---:|---:|"]
    for name in sorted(runs):
        r = runs[name]
        if r.error:
            lines.append(f"| {name} | error: {r.error} | |")
            continue
        ns = f"{r.ns:,.1f}" if r.ns is not None else ""
        rate = f"{r.rate / 1e6:,.1f} M" if r.rate is not None else ""
        lines.append(f"| {name} | {ns} | {rate} |")
    if notes:
        lines += ["", "Machine: " + "; ".join(notes)]
    return "\n".join(lines) + "\n"


def chart(runs, ratios, path):
    """A horizontal bar per ratio with a line at 1.0; the reason when none was drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib): no chart"
    shown = [(label, ratio_value(runs, num, dens, metric))
             for label, num, dens, metric in ratios]
    shown = [(label, v) for label, v in shown if v is not None]
    if not shown:
        return "no ratio could be computed: no chart"
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(shown) + 1.2))
    labels = [label for label, _ in shown][::-1]
    values = [v for _, v in shown][::-1]
    bars = ax.barh(labels, values, color="#4c72b0")
    ax.axvline(1.0, color="black", linewidth=0.8)
    for bar, v in zip(bars, values):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {v:.2f}×",
                va="center", fontsize=8)
    ax.set_xlabel("ratio (see each label for its measure; 1.0 = equal)")
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="benchmark JSON files")
    parser.add_argument("--out", default="build/bench", help="output folder (build/bench)")
    args = parser.parse_args()
    runs, ratios, notes = load(args.files)
    if not runs:
        print("no benchmark runs in the input files", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    text = markdown(runs, ratios, notes)
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)
    why = chart(runs, ratios, os.path.join(args.out, "ratios.png"))
    print(f"\nwrote {args.out}/report.md" + (f"; {why}" if why else f" and {args.out}/ratios.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
