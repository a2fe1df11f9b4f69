#!/usr/bin/python3
"""Turns xxl-bench CSV files (name,value,unit) into PNG charts.

  tools/bench/plot.py --out docs/img --prefix bench- ext4.csv tmpfs.csv

Each CSV is labelled by its file name without the extension (or LABEL=FILE).
Charts written (each name after --prefix), for the CSVs that hold the rows
they need:
  latency.png  trigger-to-callback p50/p99/p99.9 against the offered rate,
               one panel per CSV, the sustained rate marked;
  burst.png    burst throughput (runs/s to the last callback) per CSV,
               beside the sustained rate and the Beat rate.
Needs Debian's python3-matplotlib (hence /usr/bin/python3, not a python3
that may come first on PATH).
"""
import argparse
import csv
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402


def read_csv(path):
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                rows[row["name"]] = float(row["value"])
            except (KeyError, ValueError):
                continue
    return rows


def latency_points(rows):
    """{rate: {percentile: ms}} from latency.at_<rate>/s.<p> rows."""
    points = {}
    for name, value in rows.items():
        m = re.fullmatch(r"latency\.at_(\d+)/s\.(p50|p99|p99\.9|max)", name)
        if m:
            points.setdefault(int(m.group(1)), {})[m.group(2)] = value
    return points


def plot_latency(runs, out, prefix):
    with_points = [(label, rows) for label, rows in runs
                   if latency_points(rows)]
    if not with_points:
        return None
    fig, axes = plt.subplots(1, len(with_points), squeeze=False,
                             figsize=(5.5 * len(with_points), 4))
    for ax, (label, rows) in zip(axes[0], with_points):
        points = latency_points(rows)
        rates = sorted(points)
        for p, style in (("p50", "o-"), ("p99", "s-"), ("p99.9", "^-")):
            xs = [r for r in rates if p in points[r]]
            ax.plot(xs, [points[r][p] for r in xs], style, label=p)
        sustained = rows.get("sustained.rate")
        if sustained:
            ax.axvline(sustained, color="grey", linestyle="--",
                       label=f"sustained {sustained:,.0f}/s")
        ax.set_yscale("log")
        # Plain numbers at 1, 2, 5 of each decade (not 6 x 10^0).
        ax.yaxis.set_major_locator(
            matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(
            matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("offered rate (runs/s)")
        ax.set_ylabel("trigger to callback (ms)")
        ax.set_title(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path = os.path.join(out, prefix + "latency.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def burst_rate(rows):
    for name, value in rows.items():
        if re.fullmatch(r"burst\.[^.]+\.rate", name):
            return value
    return None


def plot_burst(runs, out, prefix):
    bars = [(label, rows) for label, rows in runs if burst_rate(rows)]
    if not bars:
        return None
    series = (("burst", burst_rate), ("sustained", lambda r: r.get(
        "sustained.rate")), ("Beat", lambda r: r.get("ceiling.beat_rate")))
    fig, ax = plt.subplots(figsize=(max(5, 2.2 * len(bars)), 4))
    width = 0.8 / len(series)
    for i, (name, get) in enumerate(series):
        xs, ys = [], []
        for j, (_, rows) in enumerate(bars):
            value = get(rows)
            if value:
                xs.append(j + (i - (len(series) - 1) / 2) * width)
                ys.append(value)
        if not ys:
            continue
        drawn = ax.bar(xs, ys, width, label=name)
        ax.bar_label(drawn, labels=[f"{y:,.0f}" for y in ys], fontsize=8)
    ax.set_xticks(range(len(bars)), [label for label, _ in bars])
    ax.set_ylabel("runs/s (Beat: calls/s)")
    ax.set_title("burst of runs to the last callback")
    # Room above the tallest bar for its label and the legend.
    ax.set_ylim(0, ax.get_ylim()[1] * 1.2)
    ax.legend(loc="upper center", ncol=len(series))
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    path = os.path.join(out, prefix + "burst.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="folder for the PNGs")
    parser.add_argument("--prefix", default="", help="before each PNG's name")
    parser.add_argument("csv", nargs="+", help="FILE or LABEL=FILE")
    args = parser.parse_args()
    runs = []
    for spec in args.csv:
        label, _, path = spec.rpartition("=")
        if not label:
            label = os.path.splitext(os.path.basename(path))[0]
        runs.append((label, read_csv(path)))
    os.makedirs(args.out, exist_ok=True)
    written = [p for p in (plot_latency(runs, args.out, args.prefix),
                           plot_burst(runs, args.out, args.prefix)) if p]
    if not written:
        print("plot.py: no latency or burst rows in the CSVs",
              file=sys.stderr)
        return 1
    for p in written:
        print("wrote", p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
