#!/usr/bin/env python3
"""Sharding by asset (`run --shards N`): paired, alternating runs of the seed pipeline on 1 and
more shards, on every core and under `taskset` with 1 and 2 cores; per run the wall seconds, CPU
seconds (user + system) and peak RSS from /usr/bin/time, and the CPU seconds of each kind of
thread (parsing, jobs' or reading thread, shards, writer) read from /proc while it runs; then the
medians, CPU per row, and `cmp` of every output against the one-shard output.

    bench/shards.py BINARY INPUT ROUNDS [SHARDS ...]     (default shards: 1 2)
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

JOBS = ["jobs/meter_max_min.yaml", "jobs/meter_reading_difference.yaml"]
CPUSETS = [None, "0", "0,1"]


def kind(name):
    for prefix in ("meterflow-parse", "meterflow-shard", "meterflow-write"):
        if name.startswith(prefix):
            return prefix.split("-")[1]
    return "main"


def thread_cpu(pid):
    """CPU seconds so far of each thread of `pid`, by thread id: (kind, seconds)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            out[tid] = (kind(name), (int(fields[11]) + int(fields[12])) / tick)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return out


def run(binary, data, shards, cpuset, out):
    times = out + ".time"
    cmd = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", times]
    if cpuset:
        cmd += ["taskset", "-c", cpuset]
    cmd += [binary, "run", *JOBS, "-i", data, "-o", out, "-q", "--shards", str(shards)]
    proc = subprocess.Popen(cmd)
    seen = {}
    while proc.poll() is None:
        # The meterflow process is the time (or taskset) process's child.
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                children = f.read().split()
        except FileNotFoundError:
            children = []
        for child in children:
            for tid, value in thread_cpu(child).items():
                seen[tid] = value
        time.sleep(0.01)
    if proc.returncode != 0:
        sys.exit(f"run failed: {cmd}")
    wall, user, system, rss = open(times).read().split()[-4:]
    threads = {}
    for k, seconds in seen.values():
        threads[k] = threads.get(k, 0.0) + seconds
    return float(wall), float(user) + float(system), int(rss) / 1024, threads


def main():
    binary, data, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    shard_counts = [int(s) for s in sys.argv[4:]] or [1, 2]
    rows = sum(1 for _ in open(data, "rb")) - 1
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        reference = os.path.join(tmp, "one.csv")
        for r in range(rounds):
            for cpuset in CPUSETS:
                for shards in shard_counts:
                    out = os.path.join(tmp, f"{shards}.csv")
                    if not os.path.exists(reference):
                        out = reference
                    figures = run(binary, data, shards, cpuset, out)
                    results.setdefault((cpuset, shards), []).append(figures)
                    if out != reference and subprocess.call(["cmp", "-s", reference, out]) != 0:
                        sys.exit(f"--shards {shards} wrote other bytes than --shards 1")
    print(f"{rows} rows, {rounds} rounds, load average {os.getloadavg()[0]:.2f} at the end")
    print("| cores | shards | wall | CPU | CPU per row | peak RSS | CPU by thread (median) |")
    print("|---|---|---|---|---|---|---|")
    for (cpuset, shards), runs in results.items():
        wall = statistics.median(x[0] for x in runs)
        cpu = statistics.median(x[1] for x in runs)
        rss = statistics.median(x[2] for x in runs)
        kinds = sorted({k for x in runs for k in x[3]})
        by = ", ".join(f"{k} {statistics.median(x[3].get(k, 0.0) for x in runs):.2f} s" for k in kinds)
        cores = {None: "all", "0": "1 (taskset -c 0)", "0,1": "2 (taskset -c 0,1)"}[cpuset]
        print(f"| {cores} | {shards} | {wall:.2f} s | {cpu:.2f} s | {cpu / rows * 1e9:.0f} ns | {rss:.0f} MiB | {by} |")
    print("outputs: byte-identical to --shards 1 in every run")


if __name__ == "__main__":
    main()
