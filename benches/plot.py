#!/usr/bin/env python3
"""Tables and SVG charts from criterion's results, for scaling.sh and chart.sh.

    python3 benches/plot.py scaling RUNS --threads "1 2" [--skipped "4 8 16"]
        [--quick] --md benches/scaling.md --svg benches/scaling.svg
    python3 benches/plot.py results CRITERION_DIR --svg benches/results.svg

`scaling` reads RUNS/<threads>/criterion (one criterion directory per thread
count, as scaling.sh leaves them) and RUNS/<threads>/log.txt (the bench's
output, for the cores free and busy). `results` reads one criterion
directory (target/criterion after `cargo bench --bench hot_path` and
`--bench contention`), with S5's waits-<system>.json.

ns per get = criterion's estimate per iteration (its slope where it sampled
linearly, else its mean, as benches/common/mod.rs reads it) divided by the
elements of the benchmark's throughput (the gets of one iteration).

Only the standard library: the SVG is written by hand.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import sys
from xml.sax.saxutils import escape

THIS_CRATE = "resourcepool"
S2_GROUP = "S2_go_shapes"
S3_GROUP = "S3_eviction_churn"
S5_GROUP = "S5_oversubscribed"

# One colour per system, the same in every chart.
COLOURS = {
    "resourcepool": "#1f5fbf",
    "resourcepool-timed": "#7fa8e0",
    "resourcepool-handoff-0": "#0b2e66",
    "async-lock": "#e07b00",
    "tokio": "#2a9d3a",
    "deadpool": "#8e44ad",
    "go-port": "#c0392b",
}
ORDER = list(COLOURS)
FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'

# The scaling runs: (title, group, N or None, systems).
SCALING_PANELS = [
    ("S2, N = 113 (max 10, 113 tasks, get+put)", S2_GROUP, 113,
     ["resourcepool", "async-lock", "go-port"]),
    ("S3, eviction churn (max 10, 1,000 resources, a task per thread)", S3_GROUP, None,
     ["resourcepool", "async-lock", "go-port"]),
]
NO_S3_SEMAPHORE = "no S3 row: a semaphore cannot evict"

# The whole suite: (title, group, N or None, systems in the order drawn).
SUITE_PANELS = [
    ("S1 uncontended, one thread", "S1_uncontended", None,
     ["resourcepool", "resourcepool-timed", "async-lock", "tokio", "deadpool", "go-port"]),
    ("S2 Go shapes, N = 113", S2_GROUP, 113,
     ["resourcepool", "async-lock", "tokio", "deadpool", "go-port"]),
    ("S3 eviction churn, 1,000 resources", S3_GROUP, None, ["resourcepool", "go-port"]),
    ("S4 eviction churn, 1,000,000 resources", "S4_scale", None, ["resourcepool", "go-port"]),
    ("S5 oversubscribed, max 4, 64 tasks", S5_GROUP, None,
     ["resourcepool", "async-lock", "tokio", "deadpool", "go-port"]),
    ("S6 reuse under pressure, N = 11", "S6_reuse_under_pressure", 11,
     ["resourcepool", "resourcepool-handoff-0", "go-port"]),
]


def benchmark_directory(criterion, group, system, n=None):
    parts = [criterion, group, system] + ([str(n)] if n is not None else [])
    return os.path.join(*parts, "new")


def ns_per_get(criterion, group, system, n=None):
    """Criterion's estimate of one get, in ns, or None if it is not there."""
    directory = benchmark_directory(criterion, group, system, n)
    try:
        with open(os.path.join(directory, "estimates.json")) as f:
            estimates = json.load(f)
        with open(os.path.join(directory, "benchmark.json")) as f:
            benchmark = json.load(f)
    except (OSError, ValueError):
        return None
    estimate = (estimates.get("slope") or {}).get("point_estimate")
    if estimate is None:
        estimate = (estimates.get("mean") or {}).get("point_estimate")
    throughput = benchmark.get("throughput") or {}
    elements = throughput.get("Elements") if isinstance(throughput, dict) else None
    if estimate is None or not elements:
        return None
    return estimate / elements


def estimate_time(criterion, group, system, n=None):
    path = os.path.join(benchmark_directory(criterion, group, system, n), "estimates.json")
    try:
        return os.path.getmtime(path)
    except OSError:
        return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def nproc():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def format_ns(ns):
    if ns is None:
        return "-"
    if ns < 1_000:
        return f"{ns:.1f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.2f} µs"
    return f"{ns / 1_000_000:.2f} ms"


def format_number(ns):
    return "-" if ns is None else f"{ns:.1f}"


def linear_ticks(high):
    """Ticks from 0 at a round step (1, 2 or 5 times a power of ten), 3 to 6 of
    them, the last at or above high."""
    high = high if high > 0 else 1.0
    power = 10 ** math.floor(math.log10(high / 4))
    for multiple in (1, 2, 5, 10, 20):
        step = multiple * power
        if high / step <= 5:
            break
    count = max(math.ceil(high / step - 1e-9), 1)
    return [step * i for i in range(count + 1)]


def tick_label(value):
    """A tick of an axis in ns: 0, 2.5, 250, 1,500."""
    if value >= 100:
        return f"{round(value):,}"
    return f"{round(value, 6):g}"


class Svg:
    def __init__(self, width, height):
        self.width, self.height = width, height
        self.items = []

    def add(self, item):
        self.items.append(item)

    def text(self, x, y, content, size=12, anchor="start", weight="normal", colour="#222",
             rotate=None):
        transform = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate else ""
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
                 f'font-weight="{weight}" fill="{colour}"{transform}>{escape(str(content))}</text>')

    def line(self, x1, y1, x2, y2, colour="#222", width=1, dash=None):
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                 f'stroke="{colour}" stroke-width="{width}"{dashes}/>')

    def rect(self, x, y, w, h, fill, stroke="none"):
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" '
                 f'height="{max(h, 0):.1f}" fill="{fill}" stroke="{stroke}"/>')

    def polyline(self, points, colour, width=2):
        coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        self.add(f'<polyline points="{coordinates}" fill="none" stroke="{colour}" '
                 f'stroke-width="{width}" stroke-linejoin="round"/>')

    def circle(self, x, y, r, colour):
        self.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"/>')

    def write(self, path):
        with open(path, "w") as f:
            f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
                    f'height="{self.height}" viewBox="0 0 {self.width} {self.height}" {FONT}>\n')
            f.write(f'<rect width="{self.width}" height="{self.height}" fill="white"/>\n')
            for item in self.items:
                f.write(item + "\n")
            f.write("</svg>\n")


def legend(svg, x, y, systems):
    """One swatch and name per system, in one row."""
    for system in systems:
        svg.rect(x, y - 10, 12, 12, COLOURS.get(system, "#888"))
        svg.text(x + 17, y, system, size=12)
        x += 17 + 7.5 * len(system) + 24


def y_axis(svg, left, top, width, height, ticks, label):
    """Ticks and grid lines of a linear y axis from ticks[0] to ticks[-1]."""
    for tick in ticks:
        y = top + height - (tick - ticks[0]) / (ticks[-1] - ticks[0]) * height
        svg.line(left, y, left + width, y, colour="#e4e4e4")
        svg.text(left - 6, y + 4, tick_label(tick), size=11, anchor="end", colour="#555")
    svg.line(left, top, left, top + height, colour="#555")
    svg.line(left, top + height, left + width, top + height, colour="#555")
    svg.text(left - 44, top + height / 2, label, size=11, anchor="middle", colour="#555",
             rotate=-90)


# ---------------------------------------------------------------- scaling

def parse_log(path):
    """Cores free at the start and end, and cores busy per (group, N, system)."""
    free, busy = [], {}
    try:
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return free, busy
    for line in lines:
        match = re.match(r"^([0-9.]+) of \d+ cores were free for this process", line)
        if match:
            free.append(float(match.group(1)))
            continue
        match = re.match(r"^S2 N=(\d+) (\S+): .*?; ([0-9.]+) cores busy", line)
        if match:
            busy[(S2_GROUP, int(match.group(1)), match.group(2))] = float(match.group(3))
            continue
        match = re.match(r"^(S3_eviction_churn) (\S+) \(.*?\): ([0-9.]+) cores busy", line)
        if match:
            busy[(S3_GROUP, None, match.group(2))] = float(match.group(3))
    return free, busy


def scaling(args):
    threads = sorted({int(t) for t in args.threads.split()})
    skipped = sorted({int(t) for t in args.skipped.split()}) if args.skipped else []
    runs = {}
    for t in threads:
        criterion = os.path.join(args.runs, str(t), "criterion")
        free, busy = parse_log(os.path.join(args.runs, str(t), "log.txt"))
        times = {}
        for _, group, n, systems in SCALING_PANELS:
            for system in systems:
                times[(group, n, system)] = ns_per_get(criterion, group, system, n)
        runs[t] = {"times": times, "free": free, "busy": busy}
    if not any(v is not None for run in runs.values() for v in run["times"].values()):
        sys.exit(f"plot.py: no criterion results under {args.runs}")

    date = datetime.date.today().isoformat()
    cores = nproc()
    lines = [
        "# Scaling: ns per get against threads",
        "",
        f"Generated by `bash benches/scaling.sh {' '.join(map(str, threads))}` on {date}: "
        f"`nproc` {cores}, {cpu_model()}, {platform.system()}. "
        "Each thread count is one run of `cargo bench --bench contention` with "
        "`RESOURCEPOOL_BENCH_THREADS` set to it (S2: the tokio runtime's worker threads; "
        "S3: its tasks, each on a thread of its own), S2 at N = 113 and S3 only.",
        "",
    ]
    if args.quick:
        lines += ["**Criterion's `--quick` mode: a smoke run, the numbers are rough.**", ""]
    if skipped:
        lines += [f"Skipped: {', '.join(map(str, skipped))} threads (more than the {cores} "
                  "cores `nproc` reports).", ""]
    lines += [
        "ns per get = criterion's estimate of one run / the gets in it (lower is better); "
        "speedup = the peer's ns per get / this crate's. Cores free: measured by the bench "
        "at its start / end (a run with fewer cores free than threads is not worth "
        "comparing). Cores busy: process CPU time / wall time while the benchmark ran.",
        "",
    ]
    for title, group, n, systems in SCALING_PANELS:
        peers = [s for s in systems if s != THIS_CRATE]
        lines += [f"### {title}", ""]
        header = ["threads"] + systems + [f"vs {p}" for p in peers]
        header += ["cores busy (resourcepool / go-port)", "cores free (start / end)"]
        lines += ["| " + " | ".join(header) + " |",
                  "|" + "---:|" * (1 + len(systems) + len(peers)) + "---|---|"]
        for t in threads:
            run = runs[t]
            ours = run["times"][(group, n, THIS_CRATE)]
            cells = [str(t)]
            for system in systems:
                value = run["times"][(group, n, system)]
                if value is None and group == S3_GROUP and system == "async-lock":
                    cells.append(f"— ({NO_S3_SEMAPHORE})")
                else:
                    cells.append(format_number(value))
            for peer in peers:
                theirs = run["times"][(group, n, peer)]
                if theirs is None or ours is None:
                    cells.append("—")
                else:
                    cells.append(f"{theirs / ours:.2f}x")
            busy = [run["busy"].get((group, n, s)) for s in (THIS_CRATE, "go-port")]
            cells.append(" / ".join("?" if b is None else f"{b:.2f}" for b in busy))
            cells.append(" / ".join(f"{f:.2f}" for f in run["free"]) or "?")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += [f"Chart: `{os.path.basename(args.svg)}` (ns per get against threads, log2 x axis).",
              ""]
    with open(args.md, "w") as f:
        f.write("\n".join(lines))

    width, panel_width, panel_height = 1100, 430, 300
    svg = Svg(width, 490)
    svg.text(width / 2, 28, "resourcepool: ns per get against threads"
             + (" (criterion --quick: rough)" if args.quick else ""),
             size=16, anchor="middle", weight="bold")
    svg.text(width / 2, 48, f"{date}, nproc {cores}, {cpu_model()}; lower is better",
             size=12, anchor="middle", colour="#555")
    log_lo = math.log2(threads[0]) - 0.3
    log_hi = math.log2(threads[-1]) + 0.3
    for index, (title, group, n, systems) in enumerate(SCALING_PANELS):
        left, top = 80 + index * (panel_width + 110), 90
        svg.text(left + panel_width / 2, top - 14, title, size=13, anchor="middle",
                 weight="bold")
        values = [runs[t]["times"][(group, n, s)] for t in threads for s in systems]
        values = [v for v in values if v is not None]
        ticks = linear_ticks(max(values) if values else 1)
        y_axis(svg, left, top, panel_width, panel_height, ticks, "ns per get")

        def x_of(t):
            return left + (math.log2(t) - log_lo) / (log_hi - log_lo) * panel_width

        def y_of(v):
            return top + panel_height - v / ticks[-1] * panel_height

        for t in threads:
            svg.line(x_of(t), top + panel_height, x_of(t), top + panel_height + 5, colour="#555")
            svg.text(x_of(t), top + panel_height + 19, t, size=11, anchor="middle",
                     colour="#555")
        svg.text(left + panel_width / 2, top + panel_height + 38,
                 "threads (log2 scale)", size=11, anchor="middle", colour="#555")
        drawn = []
        for system in systems:
            points = [(x_of(t), y_of(runs[t]["times"][(group, n, system)])) for t in threads
                      if runs[t]["times"][(group, n, system)] is not None]
            if not points:
                continue
            drawn.append(system)
            colour = COLOURS[system]
            if len(points) > 1:
                svg.polyline(points, colour)
            for x, y in points:
                svg.circle(x, y, 3.5, colour)
        legend(svg, left, top + panel_height + 62, drawn)
        if group == S3_GROUP:
            svg.text(left, top + panel_height + 82, f"async-lock: {NO_S3_SEMAPHORE}",
                     size=11, colour="#555")
    svg.write(args.svg)
    print(f"plot.py: wrote {args.md} and {args.svg}")


# ---------------------------------------------------------------- results

def load_waits(criterion):
    """S5's recorded waits and completions per system, in the order of ORDER."""
    directory = os.path.join(criterion, S5_GROUP)
    found = {}
    try:
        names = os.listdir(directory)
    except OSError:
        return found
    for name in names:
        match = re.match(r"^waits-(.+)\.json$", name)
        if not match:
            continue
        try:
            with open(os.path.join(directory, name)) as f:
                record = json.load(f)
        except (OSError, ValueError):
            continue
        waits = sorted(record.get("waits_ns") or [])
        if waits:
            record["waits_ns"] = waits
            record["completions_ns"] = sorted(record.get("completions_ns") or [])
            record["mtime"] = os.path.getmtime(os.path.join(directory, name))
            found[match.group(1)] = record
    return dict(sorted(found.items(), key=lambda kv: (ORDER + [kv[0]]).index(kv[0])))


def percentile(sorted_values, fraction):
    return sorted_values[round((len(sorted_values) - 1) * fraction)]


def bar_panel(svg, left, top, width, height, title, bars):
    """Bars (system, ns) from 0, labelled with their values."""
    svg.text(left + width / 2, top - 12, title, size=13, anchor="middle", weight="bold")
    if not bars:
        y_axis(svg, left, top, width, height, [0, 1], "ns per get")
        svg.text(left + width / 2, top + height / 2, "no results", size=12, anchor="middle",
                 colour="#888")
        return
    ticks = linear_ticks(max(v for _, v in bars) * 1.12)
    y_axis(svg, left, top, width, height, ticks, "ns per get")
    slot = width / len(bars)
    bar_width = min(46, slot * 0.7)
    for index, (system, value) in enumerate(bars):
        x = left + slot * index + (slot - bar_width) / 2
        h = value / ticks[-1] * height
        svg.rect(x, top + height - h, bar_width, h, COLOURS.get(system, "#888"))
        svg.text(x + bar_width / 2, top + height - h - 4, format_ns(value), size=10,
                 anchor="middle")
        ours = dict(bars).get(THIS_CRATE)
        if system != THIS_CRATE and ours:
            svg.text(x + bar_width / 2, top + height + 14, f"{value / ours:.2f}x", size=10,
                     anchor="middle", colour="#555")


def results(args):
    criterion = args.criterion
    panels = []
    times = []
    for title, group, n, systems in SUITE_PANELS:
        bars = []
        for system in systems:
            value = ns_per_get(criterion, group, system, n)
            if value is not None:
                bars.append((system, value))
                times.append(estimate_time(criterion, group, system, n))
        panels.append((title, bars))
    waits = load_waits(criterion)
    if not any(bars for _, bars in panels) and not waits:
        sys.exit(f"plot.py: no criterion results under {criterion}: run "
                 "`cargo bench --bench hot_path` and `cargo bench --bench contention` first")
    times += [record["mtime"] for record in waits.values()]
    times = [t for t in times if t is not None]

    def stamp(t):
        return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")

    width, panel_width, panel_height = 1160, 290, 210
    svg = Svg(width, 1225)
    svg.text(width / 2, 28, "resourcepool and its peers: ns per get, S1..S6 (lower is better)"
             + (" (criterion --quick: rough)" if args.quick else ""),
             size=16, anchor="middle", weight="bold")
    subtitle = f"nproc {nproc()}, {cpu_model()}"
    if times:
        subtitle += f"; criterion results written {stamp(min(times))} .. {stamp(max(times))}"
    svg.text(width / 2, 48, subtitle, size=12, anchor="middle", colour="#555")
    svg.text(width / 2, 66, "Each panel has its own linear scale. Under each peer's bar: its "
             "time / resourcepool's (the speedup of resourcepool).", size=11,
             anchor="middle", colour="#555")
    systems_drawn = [s for s in ORDER if any(s == b for _, bars in panels for b, _ in bars)]
    legend(svg, 90, 92, systems_drawn)
    for index, (title, bars) in enumerate(panels):
        column, row = index % 3, index // 3
        left = 90 + column * (panel_width + 85)
        top = 140 + row * (panel_height + 75)
        bar_panel(svg, left, top, panel_width, panel_height, title, bars)

    # S5's waits: their distribution per system, on a log x axis, twice (the
    # CDF for the body, the fraction waiting longer on a log y axis for the
    # tail), and a table of percentiles.
    top = 740
    svg.text(width / 2, top - 40, "S5 oversubscribed (max 4, 64 tasks, 200 × get / yield / "
             "put): how long each get waited, in one recorded run after criterion's",
             size=13, anchor="middle", weight="bold")
    if not waits:
        svg.text(width / 2, top + 60, f"no {S5_GROUP}/waits-<system>.json under {criterion}: "
                 "run `cargo bench --bench contention -- S5`", size=12, anchor="middle",
                 colour="#888")
        svg.write(args.svg)
        print(f"plot.py: wrote {args.svg}")
        return
    wait_panels(svg, waits, top, 90, 470, 230)
    wait_table(svg, waits, top + 330, 90)
    svg.write(args.svg)
    print(f"plot.py: wrote {args.svg}")


def wait_panels(svg, waits, top, left, width, height):
    """The CDF of the waits (linear y) and the fraction of gets that waited at
    least x (log y), side by side, each width wide."""
    low = min(max(record["waits_ns"][0], 1) for record in waits.values())
    high = max(record["waits_ns"][-1] for record in waits.values())
    decade_lo = math.floor(math.log10(max(low, 1)))
    decade_hi = max(math.ceil(math.log10(max(high, 1))), decade_lo + 1)
    most = max(len(record["waits_ns"]) for record in waits.values())
    tail_lo = math.floor(math.log10(1 / most))
    panels = [
        ("CDF: fraction of gets that waited at most x", left,
         lambda fraction: fraction, [0, 0.25, 0.5, 0.75, 0.9, 1.0], lambda t: f"{t:g}"),
        ("tail: fraction of gets that waited at least x (log)", left + width + 85,
         lambda fraction: (math.log10(fraction) - tail_lo) / -tail_lo,
         [10.0 ** e for e in range(tail_lo, 1)],
         lambda t: f"{t:.{max(0, -math.floor(math.log10(t) + 1e-9))}f}"),
    ]
    for title, x0, scale, ticks, label in panels:
        def x_of(ns, x0=x0):
            position = (math.log10(max(ns, 1)) - decade_lo) / (decade_hi - decade_lo)
            return x0 + position * width

        def y_of(fraction, scale=scale):
            return top + height - scale(fraction) * height

        svg.text(x0 + width / 2, top - 10, title, size=12, anchor="middle", weight="bold")
        for tick in ticks:
            svg.line(x0, y_of(tick), x0 + width, y_of(tick), colour="#e4e4e4")
            svg.text(x0 - 6, y_of(tick) + 4, label(tick), size=11, anchor="end", colour="#555")
        for decade in range(decade_lo, decade_hi + 1):
            x = x_of(10 ** decade)
            svg.line(x, top, x, top + height, colour="#e4e4e4")
            svg.text(x, top + height + 16, format_ns(10 ** decade).replace(".00 ", " ")
                     .replace(".0 ", " "), size=11, anchor="middle", colour="#555")
        svg.line(x0, top, x0, top + height, colour="#555")
        svg.line(x0, top + height, x0 + width, top + height, colour="#555")
        svg.text(x0 + width / 2, top + height + 34, "wait per get (log scale)", size=11,
                 anchor="middle", colour="#555")
        for system, record in waits.items():
            values = record["waits_ns"]
            count = len(values)
            # About 400 points along the body, and every point of the tail.
            indices = sorted(set(range(0, count, max(1, count // 400)))
                             | set(range(max(0, count - 200), count)))
            if scale is panels[0][2]:
                points = [(x_of(values[i]), y_of((i + 1) / count)) for i in indices]
            else:
                points = [(x_of(values[i]), y_of((count - i) / count)) for i in indices]
            svg.polyline(points, COLOURS.get(system, "#888"), width=2)


def wait_table(svg, waits, top, left):
    """p50, p90, p99, p99.9 and max wait, and the completion spread, per system."""
    headers = ["system", "p50", "p90", "p99", "p99.9", "max", "gets",
               "tasks' completion, slowest / median"]
    offsets = [0, 190, 290, 390, 490, 590, 690, 770]
    for header, offset in zip(headers, offsets):
        svg.text(left + offset, top, header, size=12, weight="bold")
    row_height = 21
    for row, (system, record) in enumerate(waits.items(), start=1):
        y = top + row * row_height
        values = record["waits_ns"]
        completions = record["completions_ns"]
        spread = "-"
        if completions:
            median = percentile(completions, 0.5)
            if median:
                spread = (f"{completions[-1] / median:.2f}x (fastest "
                          f"{completions[0] / median:.2f}x)")
        svg.rect(left, y - 10, 12, 12, COLOURS.get(system, "#888"))
        cells = [system] + [format_ns(percentile(values, f)) for f in (0.5, 0.9, 0.99, 0.999)]
        cells += [format_ns(values[-1]), len(values), spread]
        for cell, offset in zip(cells, offsets):
            svg.text(left + offset + (17 if offset == 0 else 0), y, cell, size=12)
    threads = sorted({record.get("threads") for record in waits.values()} - {None})
    y = top + (len(waits) + 1) * row_height + 6
    svg.text(left, y, "The wait: from asking for the get to having it. "
             f"{'/'.join(map(str, threads)) or '?'} tokio worker threads. Fairness target "
             "(resourcepool): no task finishes later than 3x the median.", size=11,
             colour="#555")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    scaling_parser = commands.add_parser("scaling", help="scaling.md and scaling.svg")
    scaling_parser.add_argument("runs", help="RUNS/<threads>/criterion and log.txt")
    scaling_parser.add_argument("--threads", required=True, help='"1 2 4"')
    scaling_parser.add_argument("--skipped", default="", help="thread counts not run")
    scaling_parser.add_argument("--quick", action="store_true", help="criterion --quick run")
    scaling_parser.add_argument("--md", required=True)
    scaling_parser.add_argument("--svg", required=True)
    results_parser = commands.add_parser("results", help="results.svg of S1..S6")
    results_parser.add_argument("criterion", help="criterion's directory (target/criterion)")
    results_parser.add_argument("--svg", required=True)
    results_parser.add_argument("--quick", action="store_true",
                                help="the results are from criterion's --quick mode")
    args = parser.parse_args()
    if args.command == "scaling":
        scaling(args)
    else:
        results(args)


if __name__ == "__main__":
    main()
