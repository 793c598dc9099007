#!/usr/bin/env python3
"""Live input figures for bench/RESULTS.md.

usage: bench/live.py MF DATA.csv [ROUNDS]

1. Latency: a pipe stays open; each input line closes the previous 10-minute window of a job with
   no lateness, and the time from writing that line to reading the row it makes final is taken,
   over 200 lines (median and worst).
2. Throughput: `cat DATA | MF run jobs/` against `MF run jobs/ --input DATA`, alternating rounds
   (median wall time of each, and their ratio).
"""
import os, statistics, subprocess, sys, tempfile, time

JOB = """name: live
template: time_window_aggregation
model: ElectricMeter
window:
  type: tumbling
latency: 0s
policies:
  - input: Reading
    threshold: "[0, 100)"
    interpolation: ignore
    aggregation: max
    window_size: 10m
    output: Max
"""


def latency(mf, lines=200):
    with tempfile.TemporaryDirectory() as tmp:
        job = os.path.join(tmp, "live.yaml")
        with open(job, "w") as f:
            f.write(JOB)
        p = subprocess.Popen([mf, "run", job, "-q"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        p.stdin.write(b"timestamp,asset,point,value\n")
        p.stdout.readline()
        p.stdin.write(b"2024-01-01T00:00:00Z,m1,Reading,1\n")
        took = []
        for i in range(1, lines + 1):
            line = "2024-01-%02dT%02d:%02d:00Z,m1,Reading,%d\n" % (1 + i // 144, (i % 144) // 6, (i % 6) * 10, i % 90)
            start = time.perf_counter()
            p.stdin.write(line.encode())
            p.stdout.readline()
            took.append((time.perf_counter() - start) * 1000)
            time.sleep(0.005)
        p.stdin.close()
        p.stdout.read()
        p.wait()
    return statistics.median(took), max(took)


def wall(cmd, stdin=None):
    start = time.perf_counter()
    subprocess.run(cmd, stdin=stdin, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main():
    mf, data = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    med, worst = latency(mf)
    print(f"latency over 200 rows: median {med:.2f} ms, worst {worst:.2f} ms")
    files, pipes = [], []
    for _ in range(rounds):
        files.append(wall([mf, "run", "jobs/", "--input", data, "-q", "-o", os.devnull]))
        cat = subprocess.Popen(["cat", data], stdout=subprocess.PIPE)
        pipes.append(wall([mf, "run", "jobs/", "-q", "-o", os.devnull], stdin=cat.stdout))
        cat.stdout.close()
        cat.wait()
    f, p = statistics.median(files), statistics.median(pipes)
    print(f"--input file: median {f:.3f} s; cat file |: median {p:.3f} s; ratio {p / f:.3f} ({rounds} alternating rounds)")


if __name__ == "__main__":
    main()
