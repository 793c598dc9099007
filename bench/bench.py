#!/usr/bin/env python3
"""Times meterflow against DuckDB and Polars on the generated 10M-row file and writes the figures
into bench/RESULTS.md (between the `measured` markers; the analysis around them is kept).

Run through bench/run.sh, which generates the data, builds the release binary and installs DuckDB
and Polars into bench/.venv first. Tools run in turns, the order rotating every round so that no
tool always runs right after another; the figures are medians over the rounds. Wall time is taken
around the whole process (interpreter start-up included for the Python tools); peak RSS comes
from GNU time (`/usr/bin/time -v`).
"""
import argparse
import csv
import filecmp
import os
import platform
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
DATA = os.path.join(BENCH, "data")
RESULTS = os.path.join(BENCH, "RESULTS.md")
BEGIN, END = "<!-- measured:begin -->", "<!-- measured:end -->"
MAX_MIN_POINTS = ("MaxReading10Min", "MinReading10Min")


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def timed(cmd, stdin=None, env=None):
    """Runs `cmd` under GNU time; returns (wall seconds, peak RSS in MiB, stderr of the tool)."""
    report = os.path.join(DATA, "time-report.txt")
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", "-o", report] + cmd, stdin=stdin, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    with open(report) as f:
        rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read()).group(1))
    return wall, rss_kib / 1024, proc.stderr


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
    """A DuckDB or Polars output (window_start,device,max,min) -> {(window_start, device): (max, min)}."""
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


def machine():
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    versions = sh(f"{sys.executable} -c 'import duckdb, polars; print(duckdb.__version__, polars.__version__)'").split()
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "rustc": sh("rustc --version"),
        "python": platform.python_version(),
        "duckdb": versions[0] if versions else "?",
        "polars": versions[1] if len(versions) > 1 else "?",
        "load": sh("cut -d' ' -f1-3 /proc/loadavg"),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/meterflow"))
    ap.add_argument("--input", default=os.path.join(DATA, "meters_10m.csv"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--with-100m", action="store_true", help="also pipe 100M generated rows into meterflow (several minutes)")
    args = ap.parse_args()

    mf, data, py = args.bin, args.input, sys.executable
    out = lambda name: os.path.join(DATA, f"out_{name}.csv")
    env_2 = dict(os.environ, POLARS_MAX_THREADS="2")
    tools = {
        "meterflow seed pipeline": [mf, "run", "jobs/", "--input", data, "-o", out("seed"), "-q"],
        "meterflow seed pipeline --threads 1": [mf, "run", "jobs/", "--input", data, "-o", out("seed_t1"), "-q", "--threads", "1"],
        "meterflow max/min (batch-equivalent)": [mf, "run", "bench/jobs/max_min_batch.yaml", "--input", data, "-o", out("mf_batch"), "-q"],
        "DuckDB max/min": [py, "bench/job_duckdb.py", data, out("duckdb"), "2"],
        "Polars max/min": [py, "bench/job_polars.py", data, out("polars")],
        "meterflow point-triggered merge": [mf, "run", "bench/jobs/point_merge.yaml", "--input", data, "-o", out("point_merge")],
    }
    names = list(tools)
    walls = {n: [] for n in names}
    rss = {n: [] for n in names}
    stderr = {}
    load_before = machine()["load"]
    for r in range(args.runs):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            wall, peak, err = timed(tools[name], env=env_2)
            walls[name].append(wall)
            rss[name].append(peak)
            stderr[name] = err
            print(f"round {r + 1}/{args.runs}  {name:40s} {wall:7.3f} s  {peak:7.1f} MiB", flush=True)

    med = {n: statistics.median(walls[n]) for n in names}
    peak = {n: max(rss[n]) for n in names}
    seed, duck, polars = med["meterflow seed pipeline"], med["DuckDB max/min"], med["Polars max/min"]
    batch = med["meterflow max/min (batch-equivalent)"]

    evaluations = summary_figure(stderr["meterflow point-triggered merge"], r"reading-kwh \(.*\): \d+ rows read, (?:\d+ dropped as late, )?(\d+) rows written")
    eval_rate = evaluations / med["meterflow point-triggered merge"] if evaluations else None

    checks = []
    expected = read_meterflow_max_min(out("mf_batch"))
    for tool, path in (("DuckDB", out("duckdb")), ("Polars", out("polars"))):
        problems = compare(tool, expected, read_batch(path))
        checks.append(f"- meterflow max/min vs {tool}: " + ("agree on all %d windows" % len(expected) if not problems else "DIFFER: " + "; ".join(problems)))
    same = filecmp.cmp(out("seed"), out("seed_t1"), shallow=False)
    checks.append("- seed pipeline output with default threads and `--threads 1`: " + ("byte-identical" if same else "DIFFERENT"))

    memory = []
    if args.with_100m:
        gen = [py, "bench/gen_meters.py", "1000"]
        for label, days in (("10M", "1.7361111111"), ("100M", "17.361111111")):
            producer = subprocess.Popen(gen + [days, "42", "/dev/stdout"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            wall, mib, _ = timed([mf, "run", "jobs/", "-o", out("stdin"), "-q"], stdin=producer.stdout)
            producer.stdout.close()
            producer.wait()
            memory.append((label, wall, mib))
            print(f"stdin {label}: {wall:.1f} s (generator-bound), peak {mib:.1f} MiB", flush=True)
        os.remove(out("stdin"))

    m = machine()
    lines = [
        BEGIN,
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/run.sh --runs {args.runs}"
        + (" --with-100m" if args.with_100m else "") + "`.",
        "",
        f"Machine: {m['cpu']}, {m['memory']}, {m['os']}; {m['rustc']}; Python {m['python']}, DuckDB {m['duckdb']}, "
        f"Polars {m['polars']}. Load average before / after: {load_before} / {m['load']} (other developers "
        "share the machine, so absolute figures are noisy; compare the ratios, taken within one run).",
        "",
        f"Input: `{os.path.relpath(data, ROOT)}`, {os.path.getsize(data) / 1e6:.0f} MB, "
        f"{sum(1 for _ in open(data, 'rb')) - 1:,} rows.",
        "",
        "| tool and job | wall median | min | max | peak RSS |",
        "|---|---:|---:|---:|---:|",
    ]
    for n in names:
        lines.append(f"| {n} | {med[n]:.3f} s | {min(walls[n]):.3f} s | {max(walls[n]):.3f} s | {peak[n]:.1f} MiB |")
    lines += [
        "",
        f"- DuckDB / meterflow seed pipeline: **{duck / seed:.1f}x**; Polars / meterflow seed pipeline: **{polars / seed:.1f}x**",
        f"- DuckDB / meterflow max/min: **{duck / batch:.1f}x**; Polars / meterflow max/min: **{polars / batch:.1f}x**",
        f"- `--threads 1` / default threads (seed pipeline): {med['meterflow seed pipeline --threads 1'] / seed:.2f}x",
    ]
    if eval_rate:
        lines.append(f"- point-triggered merge: {evaluations:,} evaluations in {med['meterflow point-triggered merge']:.3f} s "
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
