"""Tests of the Spark runner: its output points and late rows equal, as sorted rows, those of one
`meterflow run` over the same files. Submitted with spark-submit (spark/run_tests.sh); every case
runs on the one SparkContext, the cases that check the exit status and messages of a whole
application run spark-submit again. Prints PASS/FAIL per case and a last line `N passed, N failed`.

usage: spark-submit --master URL spark/test_meterflow_spark.py BINARY WORKDIR
"""

import glob
import json
import os
import subprocess
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import meterflow_spark  # noqa: E402


def rows_of(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    return lines[0], sorted(lines[1:])


def rows_of_dir(directory):
    header, rows = None, []
    parts = sorted(glob.glob(os.path.join(directory, "part-*")))
    assert parts, f"no part files in {directory}"
    for part in parts:
        with open(part, encoding="utf-8") as f:
            lines = f.read().splitlines()
        assert lines, f"{part} has no header"
        assert header in (None, lines[0]), f"{part}: header {lines[0]!r} differs from {header!r}"
        header = lines[0]
        rows += lines[1:]
    return header, sorted(rows)


class Case:
    def __init__(self, sc, binary, work):
        self.sc, self.binary, self.work = sc, binary, work

    def single(self, name, jobs, inputs, flags):
        out, late, stats = (os.path.join(self.work, f"{name}.{x}") for x in ("points.csv", "late.csv", "stats.json"))
        subprocess.run([self.binary, "run", *jobs, *[a for i in inputs for a in ("--input", i)], "-o", out,
                        "--late-output", late, "--stats-json", stats, "-q", *flags], check=True)
        with open(stats, encoding="utf-8") as f:
            return rows_of(out), rows_of(late), json.load(f)

    def spark(self, name, jobs, inputs, flags, partitions):
        out, late, stats = (os.path.join(self.work, f"{name}.spark.{x}") for x in ("points", "late", "stats.json"))
        argv = [*jobs, *[a for i in inputs for a in ("--input", i)], "--binary", self.binary, "--output", out,
                "--late-output", late, "--stats-json", stats, "--partitions", str(partitions), "-q", *flags]
        code = meterflow_spark.main(argv, sc=self.sc)
        assert code == 0, f"runner exited {code}"
        with open(stats, encoding="utf-8") as f:
            return rows_of_dir(out), rows_of_dir(late), json.load(f)

    def same_as_one_run(self, name, jobs, inputs, flags, partitions=4, min_late=1):
        (p1, l1, s1) = self.single(name, jobs, inputs, flags)
        (p2, l2, s2) = self.spark(name, jobs, inputs, flags, partitions)
        assert p1[0] == p2[0], f"points header {p2[0]!r}, one run {p1[0]!r}"
        assert l1[0] == l2[0], f"late header {l2[0]!r}, one run {l1[0]!r}"
        assert len(p1[1]) > 0, "the case must produce points"
        assert len(l1[1]) >= min_late, f"the case must drop at least {min_late} late rows, one run dropped {len(l1[1])}"
        diff(p1[1], p2[1], "points")
        diff(l1[1], l2[1], "late rows")
        assert s1["input"] == s2["input"], f"input figures {s2['input']}, one run {s1['input']}"
        for j1, j2 in zip(s1["jobs"], s2["jobs"]):
            for k in ("name", "rows_read", "kept", "rows_written", "late_dropped", "final_watermark"):
                assert j1[k] == j2[k], f"job {j1['name']}: {k} {j2[k]}, one run {j1[k]}"
            carried = [[(c["output"], c["rows"], c["oldest_age"]) for c in j.get("carried_over", [])] for j in (j1, j2)]
            assert carried[0] == carried[1], f"job {j1['name']}: carried over {carried[1]}, one run {carried[0]}"
        assert s2["accounting"]["balanced"], "added-up figures do not balance"


def diff(expected, got, what):
    if expected != got:
        missing = sorted(set(expected) - set(got))[:5]
        extra = sorted(set(got) - set(expected))[:5]
        raise AssertionError(f"{what}: {len(got)} rows, one run {len(expected)}; missing {missing}, extra {extra}")


def generated_files(work):
    """A few hundred thousand generated rows (late and out-of-order rows included) cut into three files."""
    whole = os.path.join(work, "gen.csv")
    if not os.path.exists(whole):
        subprocess.run([sys.executable, os.path.join(REPO, "bench", "gen_meters.py"), "40", "1.5", "7", whole],
                       check=True)
    with open(whole, encoding="utf-8") as f:
        header, *rows = f.read().splitlines()
    third = len(rows) // 3
    paths = []
    for k, chunk in enumerate((rows[:third], rows[third:2 * third], rows[2 * third:])):
        path = os.path.join(work, f"gen-{k}.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join([header, *chunk]) + "\n")
        paths.append(path)
    return paths


def submit(argv):
    """The runner as a whole application: its exit status and output (spark-submit merges the
    application's stderr into its stdout)."""
    proc = subprocess.run(["spark-submit", "--master", os.environ.get("MASTER", "local[1]"), "--total-executor-cores", "1",
                           "--conf", "spark.ui.enabled=false",
                           os.path.join(HERE, "meterflow_spark.py"), *argv],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout


def main():
    binary, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(work, exist_ok=True)
    from pyspark import SparkContext

    sc = SparkContext.getOrCreate()
    sc.setLogLevel("ERROR")
    # The runner's functions are pickled by reference to its module: the executors import it.
    sc.addPyFile(os.path.join(HERE, "meterflow_spark.py"))
    c = Case(sc, binary, work)
    jobs = [os.path.join(REPO, "jobs")]
    sample = [os.path.join(REPO, "samples", "meters.csv")]
    gen = generated_files(work)

    def wide_input():
        # One meter's readings as a wide file (a column per point), with the asset a constant.
        path = os.path.join(work, "wide.csv")
        with open(sample[0], encoding="utf-8") as f:
            header, *rows = f.read().splitlines()
        cols = header.split(",")
        t, a, v = cols.index("timestamp"), cols.index("asset"), cols.index("value")
        with open(path, "w", encoding="utf-8") as f:
            f.write("timestamp,Reading\n")
            for r in rows:
                cells = r.split(",")
                if cells[a] == "meter-001":
                    f.write(f"{cells[t]},{cells[v]}\n")
        return [path]

    def wide_config():
        # The same wide file, its settings in an input-config file shipped to the executors.
        path = os.path.join(work, "wide-input.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write("wide: true\nasset: house\n")
        return ["--input-config", path]

    def refused_global():
        code, err = submit([*jobs, "--input", sample[0], "--binary", binary, "--output", os.path.join(work, "g"),
                            "--watermark", "global"])
        assert code == 2, f"exit {code}"
        assert "--watermark global cannot run on Spark" in err and "cannot be split by asset" in err, err

    def failing_meterflow():
        bad = os.path.join(work, "bad.csv")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("timestamp,asset,point,value\n2024-03-01T00:00:00Z,m1,Reading,1\n2024-03-01T00:00:01Z,m1,Reading,x\n")
        code, err = submit([*jobs, "--input", bad, "--binary", binary, "--output", os.path.join(work, "bad.out")])
        assert code == 1, f"exit {code}"
        assert "meterflow run on partition" in err and 'invalid value "x"' in err, err

    cases = [
        ("seed jobs on samples/meters.csv, emit final",
         lambda: c.same_as_one_run("seed", jobs, sample, [])),
        ("seed jobs, emit updates, watermark asset",
         lambda: c.same_as_one_run("seed-updates", jobs, sample, ["--emit", "updates", "--watermark", "asset"])),
        ("generated rows in three files, emit final, watermark series",
         lambda: c.same_as_one_run("gen", jobs, gen, [], partitions=5, min_late=10)),
        ("generated rows in three files, emit updates, watermark asset",
         lambda: c.same_as_one_run("gen-updates", jobs, gen, ["--emit", "updates", "--watermark", "asset"],
                                   partitions=5, min_late=10)),
        ("generated rows, --sort-input",
         lambda: c.same_as_one_run("gen-sorted", jobs, gen, ["--sort-input"], partitions=3, min_late=0)),
        ("wide file with a constant --asset",
         lambda: c.same_as_one_run("wide", jobs, wide_input(), ["--wide", "--asset", "house"], min_late=0)),
        ("wide file with its settings in --input-config",
         lambda: c.same_as_one_run("wide-config", jobs, wide_input(), wide_config(), min_late=0)),
        ("--watermark global is refused, saying why", refused_global),
        ("a failing meterflow fails the application with its stderr", failing_meterflow),
    ]
    passed = failed = 0
    for name, case in cases:
        try:
            case()
            print(f"PASS {name}", flush=True)
            passed += 1
        except Exception:
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
            failed += 1
    sc.stop()
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
