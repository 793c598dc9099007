#!/usr/bin/env python3
"""Times meterflow against its peers (DuckDB, Polars, chdb and DataFusion, each computing the
seed's max/min windows) on the generated 10M-row file and writes the figures into
bench/RESULTS.md (between the `measured` markers; the analysis around them is kept).

Run through bench/run.sh, which generates the data, builds the release binary and installs the
peers into bench/.venv first. Before anything is timed, every peer runs on the 100k-row file and
must write byte for byte DuckDB's output there, and meterflow's batch-equivalent job must agree
with it on every window; otherwise the script stops with exit 1. Tools then run in turns, the
order rotating every round so that no tool always runs right after another; the figures are
medians over the rounds, and the ratios to meterflow also medians of the ratios within each
round. Wall time is taken around the whole process (interpreter start-up and imports included
for the peers); CPU seconds (user + system) are the kernel's figures for the whole process tree,
from wait4(2); peak RSS comes from GNU time (`/usr/bin/time -v`).
"""
import argparse
import csv
import filecmp
import importlib.metadata
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
DATA = os.path.join(BENCH, "data")
RESULTS = os.path.join(BENCH, "RESULTS.md")
BEGIN, END = "<!-- measured:begin -->", "<!-- measured:end -->"
MAX_MIN_POINTS = ("MaxReading10Min", "MinReading10Min")
# Peers by key: (name in tables, job script, PyPI packages whose versions are reported). DuckDB's
# output is the reference.
PEERS = {
    "duckdb": ("DuckDB", "bench/job_duckdb.py", ("duckdb",)),
    "polars": ("Polars", "bench/job_polars.py", ("polars",)),
    "chdb": ("chdb", "bench/job_chdb.py", ("chdb", "chdb-core")),
    "datafusion": ("DataFusion", "bench/job_datafusion.py", ("datafusion",)),
}
REFERENCE = "duckdb"
# Threads each peer may use: the cores of the machine the figures were first taken on (meterflow's
# default uses two as well: a parsing thread and the jobs' thread).
PEER_THREADS = 2


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


class Run(NamedTuple):
    wall: float  # seconds, around the whole process
    cpu: float  # user + system seconds of the process and every child it waited for
    rss: float  # peak resident set, MiB
    stderr: str


def timed(cmd, stdin=None):
    """Runs `cmd` under GNU time to completion and returns its Run; stops the benchmark if it fails.

    CPU seconds come from wait4(2) on GNU time, which include everything it waited for: the tool and
    its children. Peak RSS comes from GNU time's report, not from wait4: a child of this script
    starts as a copy of it, and the kernel keeps the copy's peak in the figure wait4 returns after
    `exec`, so a small tool would be charged this script's memory (which holds the 10M file's
    windows after the checks). GNU time is a small process, and it starts the tool itself."""
    report = os.path.join(DATA, "time-report.txt")
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", report] + cmd, stdin=stdin, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace")
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{text}")
    with open(report) as f:
        rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read()).group(1))
    return Run(wall, usage.ru_utime + usage.ru_stime, rss_kib / 1024, text)


def summary_figure(stderr, pattern):
    m = re.search(pattern, stderr)
    return int(m.group(1)) if m else None


def read_meterflow_max_min(path):
    """meterflow's long output -> {(window_start, asset): (max, min)}."""
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["point"] not in MAX_MIN_POINTS:
                continue
            entry = out.setdefault((row["timestamp"], row["asset"]), [None, None])
            entry[MAX_MIN_POINTS.index(row["point"])] = float(row["value"])
    return {k: tuple(v) for k, v in out.items()}


def read_batch(path):
    """A peer's output (window_start,device,max,min) -> {(window_start, device): (max, min)}."""
    with open(path, newline="") as f:
        return {(r["window_start"], r["device"]): (float(r["max"]), float(r["min"])) for r in csv.DictReader(f)}


def compare(name, expected, actual):
    """Differences between two result maps, as lines of text (empty when they agree)."""
    problems = []
    only_expected = sorted(set(expected) - set(actual))
    only_actual = sorted(set(actual) - set(expected))
    if only_expected:
        problems.append(f"{len(only_expected)} windows only in meterflow's output, e.g. {only_expected[:3]}")
    if only_actual:
        problems.append(f"{len(only_actual)} windows only in {name}'s output, e.g. {only_actual[:3]}")
    differ = [k for k in set(expected) & set(actual) if any(abs(a - b) > 1e-9 for a, b in zip(expected[k], actual[k]))]
    if differ:
        k = sorted(differ)[0]
        problems.append(f"{len(differ)} windows differ, e.g. {k}: meterflow {expected[k]}, {name} {actual[k]}")
    return problems


def first_difference(expected_path, actual_path):
    """The first line where two text files differ, as a sentence."""
    with open(expected_path, errors="replace") as e, open(actual_path, errors="replace") as a:
        for number, (x, y) in enumerate(zip(e, a), start=1):
            if x != y:
                return f"line {number}: expected {x.rstrip()!r}, got {y.rstrip()!r}"
        rest_e, rest_a = e.read(), a.read()
    return f"one output ends first ({len(rest_e)} more characters expected, {len(rest_a)} more written)"


def peer_cmd(key, data, output):
    return [sys.executable, PEERS[key][1], data, output, str(PEER_THREADS)]


def check_before_timing(peers, mf, small, out):
    """Every peer byte-identical to DuckDB on the small file, and meterflow's batch-equivalent job
    agreeing with it on every window; stops the benchmark otherwise. Returns the report lines."""
    if not os.path.exists(small):
        sys.exit(f"{small} is missing: run bench/run.sh, which generates it")
    reference = out(f"check_{REFERENCE}")
    timed(peer_cmd(REFERENCE, small, reference))
    windows = sum(1 for _ in open(reference)) - 1
    if windows < 1:
        sys.exit(f"{PEERS[REFERENCE][0]} wrote no windows for {small}")
    failures, agreed = [], []
    for key in peers:
        if key == REFERENCE:
            continue
        path = out(f"check_{key}")
        timed(peer_cmd(key, small, path))
        if filecmp.cmp(reference, path, shallow=False):
            agreed.append(PEERS[key][0])
        else:
            failures.append(f"{PEERS[key][0]} differs from {PEERS[REFERENCE][0]} on {small}, {first_difference(reference, path)}")
    timed([mf, "run", "bench/jobs/max_min_batch.yaml", "--input", small, "-o", out("check_meterflow"), "-q"])
    problems = compare(PEERS[REFERENCE][0], read_meterflow_max_min(out("check_meterflow")), read_batch(reference))
    if problems:
        failures.append(f"meterflow's max/min job and {PEERS[REFERENCE][0]} disagree on {small}: " + "; ".join(problems))
    if failures:
        sys.exit("output check before timing FAILED, nothing timed:\n- " + "\n- ".join(failures))
    rows = sum(1 for _ in open(small, "rb")) - 1
    lines = [f"- before timing, on `{os.path.relpath(small, ROOT)}` ({rows:,} rows, {windows:,} windows): "
             + (", ".join(agreed) + f" byte-identical to {PEERS[REFERENCE][0]}; " if agreed else "")
             + "meterflow's max/min job agrees on every window"]
    print(lines[0], flush=True)
    return lines


def machine(peers):
    cpu = sh("LC_ALL=C lscpu | sed -n 's/^Model name: *//p'") or sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    return {
        "cpu": f"{cpu} (`lscpu`), {os.cpu_count()} cores",
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "rustc": sh("rustc --version"),
        "python": platform.python_version(),
        "peers": ", ".join(" ".join(f"{p} {importlib.metadata.version(p)}" for p in PEERS[k][2]) for k in peers),
        "load": sh("cut -d' ' -f1-3 /proc/loadavg"),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/meterflow"))
    ap.add_argument("--input", default=os.path.join(DATA, "meters_10m.csv"))
    ap.add_argument("--check-input", default=os.path.join(DATA, "meters_100k.csv"),
                    help="small file on which every peer must match DuckDB byte for byte before timing")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--peers", default=",".join(PEERS),
                    help=f"comma-separated peers to time, of {', '.join(PEERS)} (default all)")
    ap.add_argument("--with-100m", action="store_true", help="also pipe 100M generated rows into meterflow (several minutes)")
    args = ap.parse_args()
    peers = list(dict.fromkeys(p.strip() for p in args.peers.split(",") if p.strip()))
    unknown = [p for p in peers if p not in PEERS]
    if unknown or not peers:
        ap.error(f"--peers: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(PEERS)}")

    mf, data, py = args.bin, args.input, sys.executable
    out = lambda name: os.path.join(DATA, f"out_{name}.csv")
    checks = check_before_timing(peers, mf, args.check_input, out)

    seed_name = "meterflow seed pipeline"
    batch_name = "meterflow max/min (batch-equivalent)"
    merge_name = "meterflow point-triggered merge"
    peer_name = {k: f"{PEERS[k][0]} max/min" for k in peers}
    tools = {
        seed_name: [mf, "run", "jobs/", "--input", data, "-o", out("seed"), "-q"],
        "meterflow seed pipeline --threads 1": [mf, "run", "jobs/", "--input", data, "-o", out("seed_t1"), "-q", "--threads", "1"],
        batch_name: [mf, "run", "bench/jobs/max_min_batch.yaml", "--input", data, "-o", out("mf_batch"), "-q"],
    }
    tools.update({peer_name[k]: peer_cmd(k, data, out(k)) for k in peers})
    tools[merge_name] = [mf, "run", "bench/jobs/point_merge.yaml", "--input", data, "-o", out("point_merge")]
    names = list(tools)
    runs = {n: [] for n in names}
    load_before = sh("cut -d' ' -f1-3 /proc/loadavg")
    for r in range(args.runs):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            run = timed(tools[name])
            runs[name].append(run)
            print(f"round {r + 1}/{args.runs}  {name:40s} {run.wall:7.3f} s  CPU {run.cpu:7.3f} s  {run.rss:7.1f} MiB", flush=True)
    load_after = sh("cut -d' ' -f1-3 /proc/loadavg")

    med = lambda n, field: statistics.median(getattr(x, field) for x in runs[n])
    in_tool = {}  # median of the time each peer's job script reports around its query
    for n in names:
        found = [float(m.group(1)) for x in runs[n] for m in [re.search(r"in-tool ([0-9.]+)s", x.stderr)] if m]
        in_tool[n] = statistics.median(found) if found else None

    def ratio(n, field, base):
        """n's figure over base's: (ratio of the medians, median of the ratios within each round)."""
        per_round = [getattr(a, field) / getattr(b, field) for a, b in zip(runs[n], runs[base])]
        return med(n, field) / med(base, field), statistics.median(per_round)

    merge_runs = runs[merge_name]
    evaluations = summary_figure(merge_runs[-1].stderr, r"reading-kwh \(.*\): \d+ rows read, (?:\d+ dropped as late, )?(\d+) rows written")
    eval_rate = evaluations / med(merge_name, "wall") if evaluations else None

    expected = read_meterflow_max_min(out("mf_batch"))
    for k in peers:
        problems = compare(PEERS[k][0], expected, read_batch(out(k)))
        checks.append(f"- meterflow max/min vs {PEERS[k][0]}: "
                      + (f"agree on all {len(expected)} windows" if not problems else "DIFFER: " + "; ".join(problems)))
    if REFERENCE in peers:
        others = [k for k in peers if k != REFERENCE]
        differ = [PEERS[k][0] for k in others if not filecmp.cmp(out(REFERENCE), out(k), shallow=False)]
        if others:
            checks.append(f"- {', '.join(PEERS[k][0] for k in others)} vs {PEERS[REFERENCE][0]} on the timed input: "
                          + ("byte-identical" if not differ else "DIFFERENT: " + ", ".join(differ)))
    same = filecmp.cmp(out("seed"), out("seed_t1"), shallow=False)
    checks.append("- seed pipeline output with default threads and `--threads 1`: " + ("byte-identical" if same else "DIFFERENT"))

    memory = []
    if args.with_100m:
        gen = [py, "bench/gen_meters.py", "1000"]
        for label, days in (("10M", "1.7361111111"), ("100M", "17.361111111")):
            producer = subprocess.Popen(gen + [days, "42", "/dev/stdout"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            run = timed([mf, "run", "jobs/", "-o", out("stdin"), "-q"], stdin=producer.stdout)
            producer.stdout.close()
            producer.wait()
            memory.append((label, run.wall, run.rss))
            print(f"stdin {label}: {run.wall:.1f} s (generator-bound), peak {run.rss:.1f} MiB", flush=True)
        os.remove(out("stdin"))

    strongest = min(peers, key=lambda k: med(peer_name[k], "wall"))
    thriftiest = min(peers, key=lambda k: med(peer_name[k], "cpu"))
    s_wall, s_wall_paired = ratio(peer_name[strongest], "wall", seed_name)
    s_cpu, s_cpu_paired = ratio(peer_name[strongest], "cpu", seed_name)

    m = machine(peers)
    flags = (f" --peers {','.join(peers)}" if peers != list(PEERS) else "") + (" --with-100m" if args.with_100m else "")
    lines = [
        BEGIN,
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/run.sh --runs {args.runs}{flags}`.",
        "",
        f"Machine: {m['cpu']}, {m['memory']}, {m['os']}; {m['rustc']}; Python {m['python']}; {m['peers']}. "
        f"Load average before / after: {load_before} / {load_after} (other developers share the machine, so "
        "absolute figures are noisy; compare the ratios, taken within one run). "
        f"Each peer runs with {PEER_THREADS} threads.",
        "",
        f"Input: `{os.path.relpath(data, ROOT)}`, {os.path.getsize(data) / 1e6:.0f} MB, "
        f"{sum(1 for _ in open(data, 'rb')) - 1:,} rows. Wall is the whole process (the peers' interpreter "
        "start and imports included; in-tool is the time the job script measures around its query); "
        "CPU is user + system seconds of the process tree.",
        "",
        f"**Strongest peer: {PEERS[strongest][0]}** (lowest median wall of the peers): "
        f"**{s_wall:.2f}x** meterflow seed pipeline's wall (median of the per-round ratios {s_wall_paired:.2f}x), "
        f"**{s_cpu:.2f}x** its CPU seconds (per round {s_cpu_paired:.2f}x).",
        "",
        "| tool and job | wall median | min | max | in-tool median | CPU median | peak RSS |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        walls = [x.wall for x in runs[n]]
        own = f"{in_tool[n]:.3f} s" if in_tool[n] is not None else "-"
        lines.append(f"| {n} | {med(n, 'wall'):.3f} s | {min(walls):.3f} s | {max(walls):.3f} s | {own} | "
                     f"{med(n, 'cpu'):.3f} s | {max(x.rss for x in runs[n]):.1f} MiB |")
    lines.append("")
    for k in sorted(peers, key=lambda k: med(peer_name[k], "wall")):
        w, wp = ratio(peer_name[k], "wall", seed_name)
        c, cp = ratio(peer_name[k], "cpu", seed_name)
        bw, _ = ratio(peer_name[k], "wall", batch_name)
        bc, _ = ratio(peer_name[k], "cpu", batch_name)
        lines.append(f"- {PEERS[k][0]} / meterflow seed pipeline: wall **{w:.2f}x** (per round {wp:.2f}x), CPU **{c:.2f}x** "
                     f"(per round {cp:.2f}x); / meterflow max/min: wall {bw:.2f}x, CPU {bc:.2f}x")
    quickest = min((k for k in peers if in_tool[peer_name[k]] is not None), key=lambda k: in_tool[peer_name[k]], default=strongest)
    if quickest != strongest:
        lines.append(f"- fastest peer by in-tool time (interpreter start and imports left out): {PEERS[quickest][0]}, "
                     f"{in_tool[peer_name[quickest]]:.3f} s = {in_tool[peer_name[quickest]] / med(seed_name, 'wall'):.2f}x "
                     "meterflow seed pipeline's wall")
    if thriftiest != strongest:
        c, cp = ratio(peer_name[thriftiest], "cpu", seed_name)
        lines.append(f"- fewest CPU seconds of the peers: {PEERS[thriftiest][0]}, {c:.2f}x meterflow seed pipeline's")
    lines.append(f"- `--threads 1` / default threads (seed pipeline): {med('meterflow seed pipeline --threads 1', 'wall') / med(seed_name, 'wall'):.2f}x")
    if eval_rate:
        lines.append(f"- point-triggered merge: {evaluations:,} evaluations in {med(merge_name, 'wall'):.3f} s "
                     f"= **{eval_rate / 1e6:.1f}M evaluations/s** (end to end: parse, merge, format, write)")
    for label, wall, mib in memory:
        lines.append(f"- stdin from the generator, {label} rows, seed pipeline: peak RSS **{mib:.1f} MiB** ({wall:.0f} s, bound by the generator)")
    if len(memory) == 2:
        lines.append(f"- 100M / 10M peak RSS: **{memory[1][2] / memory[0][2]:.3f}**")
    lines += ["", "Output checks:", ""] + checks + [END]
    block = "\n".join(lines)
    print(block)

    text = open(RESULTS).read() if os.path.exists(RESULTS) else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text += "\n" + block + "\n"
    with open(RESULTS, "w") as f:
        f.write(text)
    if any("DIFFER" in c or "DIFFERENT" in c for c in checks):
        sys.exit("output checks failed")


if __name__ == "__main__":
    main()
