#!/usr/bin/env python3
"""`--state` figures for bench/RESULTS.md.

usage: bench/state.py MF DATA.csv [ROUNDS]

DATA is cut after 9M of its rows (day 1) and the rest (day 2). Measured, median over ROUNDS:
1. day 1 with and without `--state` (the difference is the save at end of input), and the size of
   the state file (the seed jobs keep a day of windows open for every meter: their latency is 1d);
2. the load: `MF state show STATE` (reads, checks and decodes the whole state);
3. load + save: a run resuming from the state over a one-row input, without `--finish`;
4. day 1 with `--state` then day 2 with `--finish`: their outputs joined (second header dropped)
   must equal one run over DATA (`cmp`), which is checked, not timed.
"""
import os, statistics, subprocess, sys, tempfile, time


def timed(cmd, **kw):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t


def main():
    mf, data = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    with tempfile.TemporaryDirectory() as tmp:
        day1, day2, one = (os.path.join(tmp, n) for n in ("day1.csv", "day2.csv", "one.csv"))
        with open(data) as f, open(day1, "w") as a, open(day2, "w") as b:
            header = f.readline()
            a.write(header)
            b.write(header)
            for i, line in enumerate(f):
                (a if i < 9_000_000 else b).write(line)
                last = line
        with open(one, "w") as f:
            f.write(header + last)
        state = os.path.join(tmp, "s.state")
        base = [mf, "run", "jobs/", "-q", "-o", os.devnull]
        plain, saving, loads, resumes = [], [], [], []
        for _ in range(rounds):
            plain.append(timed(base + ["--input", day1]))
            if os.path.exists(state):
                os.remove(state)
            saving.append(timed(base + ["--input", day1, "--state", state]))
            loads.append(timed([mf, "state", "show", state]))
            resumed = os.path.join(tmp, "resumed.state")
            with open(state, "rb") as src, open(resumed, "wb") as dst:
                dst.write(src.read())
            resumes.append(timed(base + ["--input", one, "--state", resumed]))
        size = os.path.getsize(state)
        whole, first, second = (os.path.join(tmp, n) for n in ("whole.csv", "first.csv", "second.csv"))
        subprocess.run([mf, "run", "jobs/", "-q", "--input", data, "-o", whole], check=True)
        os.remove(state)
        subprocess.run([mf, "run", "jobs/", "-q", "--input", day1, "-o", first, "--state", state], check=True)
        subprocess.run([mf, "run", "jobs/", "-q", "--input", day2, "-o", second, "--state", state, "--finish"], check=True)
        joined = os.path.join(tmp, "joined.csv")
        with open(joined, "wb") as out, open(first, "rb") as a, open(second, "rb") as b:
            out.write(a.read())
            b.readline()
            out.write(b.read())
        same = subprocess.run(["cmp", "-s", joined, whole]).returncode == 0
        med = statistics.median
        print(f"state file after day 1: {size / 1e6:.1f} MB")
        print(f"day 1 (9M rows) without --state: {med(plain):.3f} s; with --state: {med(saving):.3f} s "
              f"(save at end: {med(saving) - med(plain):+.3f} s)")
        print(f"load (state show): {med(loads):.3f} s")
        print(f"resume + save over a one-row input: {med(resumes):.3f} s")
        print(f"day 1 --state + day 2 --finish joined == one run over all 10M rows: {'yes' if same else 'NO'}")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
