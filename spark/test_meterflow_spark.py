"""Tests of the Spark runner: its output points and late rows equal, as sorted rows, those of one
`meterflow run` over the same files, on the three data paths (native, JVM and Python; see the list
of cases for which run on one), and what it refuses.
Submitted with spark-submit (spark/run_tests.sh); every case runs on the one SparkContext, except
the one that checks the exit status and output of a whole application, which runs spark-submit
again. Prints PASS/FAIL per case with its time and a last line `N passed, N failed`.

usage: spark-submit --master URL spark/test_meterflow_spark.py BINARY WORKDIR
"""

import contextlib
import glob
import gzip
import io
import json
import os
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import meterflow_spark  # noqa: E402
from mfspark import native_path  # noqa: E402

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

    def run(self, name, jobs, inputs, flags, path, partitions=4):
        """The runner in this process: (exit status, stderr, output directories and figures)."""
        out, late, stats = (os.path.join(self.work, f"{name}.{path}.{x}") for x in ("points", "late", "stats.json"))
        argv = [*jobs, *[a for i in inputs for a in ("--input", i)], "--binary", self.binary, "--output", out,
                "--late-output", late, "--stats-json", stats, "--partitions", str(partitions), "--data-path", path,
                "-q", *flags]
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = meterflow_spark.main(argv, sc=self.sc)
        return code, err.getvalue(), (out, late, stats)

    def spark(self, name, jobs, inputs, flags, path, partitions):
        code, err, (out, late, stats) = self.run(name, jobs, inputs, flags, path, partitions)
        assert code == 0, f"runner exited {code}: {err}"
        with open(stats, encoding="utf-8") as f:
            return rows_of_dir(out), rows_of_dir(late), json.load(f), err

    def same_as_one_run(self, name, jobs, inputs, flags, path, partitions=4, min_late=1):
        """Runs both and compares; the runner's stderr."""
        (p1, l1, s1) = self.single(name, jobs, inputs, flags)
        (p2, l2, s2, err) = self.spark(name, jobs, inputs, flags, path, partitions)
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
        return err

    def jobs_started(self):
        return len(self.sc.statusTracker().getJobIdsForGroup())


def diff(expected, got, what):
    if expected != got:
        missing = sorted(set(expected) - set(got))[:5]
        extra = sorted(set(got) - set(expected))[:5]
        raise AssertionError(f"{what}: {len(got)} rows, one run {len(expected)}; missing {missing}, extra {extra}")


def generated(work):
    """About 140,000 generated rows, a day of 16 meters (late and out-of-order rows included): header, rows."""
    whole = os.path.join(work, "gen.csv")
    if not os.path.exists(whole):
        subprocess.run([sys.executable, os.path.join(REPO, "bench", "gen_meters.py"), "16", "1.5", "7", whole],
                       check=True)
    with open(whole, encoding="utf-8") as f:
        header, *rows = f.read().splitlines()
    return header, rows


def write(path, lines, newline="\n", bom=False, compress=False):
    data = (("\ufeff" if bom else "") + newline.join(lines) + newline).encode("utf-8")
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(data)
    return path


def generated_files(work):
    """The generated rows cut into three files."""
    header, rows = generated(work)
    third = len(rows) // 3
    return [write(os.path.join(work, f"gen-{k}.csv"), [header, *chunk])
            for k, chunk in enumerate((rows[:third], rows[third:2 * third], rows[2 * third:]))]


def daily_files(work, count):
    """`count` small files of consecutive generated rows, named by day, as a folder of daily files
    would be."""
    header, rows = generated(work)
    # Every 5th row: the whole day, its late rows among them.
    rows = rows[::5]
    size = len(rows) // count
    return [write(os.path.join(work, f"day{count}-{k:03d}.csv"), [header, *rows[k * size:(k + 1) * size]])
            for k in range(count)]


def joined_file(work):
    """Generated rows in two runs joined as with `cat`: a data line equal to the header between them."""
    header, rows = generated(work)
    return write(os.path.join(work, "joined.csv"), [header, *rows[:3000], header, *rows[3000:6000]])


def multiline_file(work):
    """A quoted field holding a line break: its record goes on on the next line."""
    return write(os.path.join(work, "multiline.csv"),
                 ["timestamp,asset,point,value,note", "2024-03-01T00:00:00Z,m1,Reading,1,\"two", "lines\""])


def mixed_files(work):
    """Consecutive generated rows in five files that one run reads alike though they differ: the
    columns in another order under other names with `;` and CRLF; gzip with a byte-order mark;
    quoted assets (some holding the delimiter or a doubled quote, some padded inside the quotes); tabs.
    Assets holding `,` or `"` occur in several of these files, so their rows meet in one partition
    only if every file's asset is read alike."""
    header, rows = generated(work)
    # Every 3rd row: the whole day, its late rows among them.
    rows = rows[::3]
    cols = header.split(",")
    t, a, p, v = (cols.index(n) for n in ("timestamp", "device", "point", "value"))
    # Every fifth device gets a name with a comma, every seventh one with a quote.
    def rename(asset):
        n = int("".join(ch for ch in asset if ch.isdigit()) or 0)
        return asset + (",x" if n % 5 == 0 else "") + ('"q' if n % 7 == 0 else "")

    fields = [(r[t], rename(r[a]), r[p], r[v]) for r in (row.split(",") for row in rows)]
    fifth = len(fields) // 5
    chunks = [fields[k * fifth:(k + 1) * fifth] for k in range(5)]

    def quote(text):
        return '"' + text.replace('"', '""') + '"'

    def csv_field(text, delimiter):
        return quote(text) if delimiter in text or '"' in text else text

    files = []
    # 0: plain CSV, quotes only where needed.
    files.append(write(os.path.join(work, "mixed-0.csv"), ["timestamp,asset,point,value"] +
                       [",".join((ts, csv_field(s, ","), pt, val)) for ts, s, pt, val in chunks[0]]))
    # 1: another order, aliases, `;`, CRLF; the comma in an asset needs no quotes here.
    files.append(write(os.path.join(work, "mixed-1.csv"), ["Value;Meter_ID;Time;Point"] +
                       [";".join((val, csv_field(s, ";"), ts, pt)) for ts, s, pt, val in chunks[1]], newline="\r\n"))
    # 2: gzip with a byte-order mark.
    files.append(write(os.path.join(work, "mixed-2.csv.gz"), ["timestamp,asset,point,value"] +
                       [",".join((ts, csv_field(s, ","), pt, val)) for ts, s, pt, val in chunks[2]], bom=True,
                       compress=True))
    # 3: every asset quoted, every third padded with spaces inside its quotes.
    files.append(write(os.path.join(work, "mixed-3.csv"), ["timestamp,asset,point,value"] +
                       [",".join((ts, quote(f"  {s} " if k % 3 == 0 else s), pt, val))
                        for k, (ts, s, pt, val) in enumerate(chunks[3])]))
    # 4: tabs, the asset last.
    files.append(write(os.path.join(work, "mixed-4.tsv"), ["timestamp\tpoint\tvalue\tasset"] +
                       ["\t".join((ts, pt, val, csv_field(s, "\t"))) for ts, s, pt, val in chunks[4]]))
    return files


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
    sc = meterflow_spark.spark_context()
    sc.setLogLevel("ERROR")
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

    def daily(path, count):
        files = daily_files(work, count)
        before = c.jobs_started()
        c.same_as_one_run(f"daily{count}-{path}", jobs, files, [], path)
        started = c.jobs_started() - before
        # JVM: the file listing (Spark lists over 32 paths in a job) and the write; Python: the
        # figures and the two outputs. None of them per file.
        assert started <= 3, f"{started} Spark jobs for {len(files)} files"

    def repeated_header(path):
        # A data line equal to the header (files joined with `cat`): a bad row to meterflow, skipped
        # here; the native and Python paths hand it to meterflow as one run reads it, the JVM path
        # cannot tell it from the header, so it hands the input over.
        joined = joined_file(work)
        if path == "jvm":
            code, err, _ = c.run("joined-jvm", jobs, [joined], ["--on-bad-row", "skip"], "jvm")
            assert code == 1 and "JVM data path cannot take this input" in err and "repeated header" in err, err
        else:
            err = c.same_as_one_run(f"joined-{path}", jobs, [joined], ["--on-bad-row", "skip"], path, min_late=0)
            assert "cannot take" not in err, err

    def without_native():
        # No jar on the class path (no javac when spark/submit ran): auto takes the JVM path, which
        # hands the repeated header to the Python path; each step said on stderr.
        joined = joined_file(work)
        kept = native_path.NATIVE_CLASS
        native_path.NATIVE_CLASS = "meterflow.spark.Missing"
        try:
            err = c.same_as_one_run("joined-auto", jobs, [joined], ["--on-bad-row", "skip"], "auto", min_late=0)
        finally:
            native_path.NATIVE_CLASS = kept
        assert "the native data path cannot take this input (its class meterflow.spark.Missing is not on the " \
            "class path" in err and "running the JVM (Spark SQL) data path instead" in err, err
        assert "running the Python data path instead" in err, err

    def build_without_javac():
        # spark/native/build with no javac on PATH: one line on stderr, no jar, exit 1 (spark/submit
        # then adds no --jars, and the runner says it takes the JVM path: without_native).
        tools = os.path.join(work, "no-javac")
        os.makedirs(tools, exist_ok=True)
        for tool in ("dirname",):
            if not os.path.exists(os.path.join(tools, tool)):
                os.symlink(subprocess.run(["which", tool], capture_output=True, text=True, check=True).stdout.strip(),
                           os.path.join(tools, tool))
        proc = subprocess.run(["/bin/bash", os.path.join(HERE, "native", "build"), os.environ["SPARK_HOME"],
                               os.path.join(work, "no-javac-cache")], env={"PATH": tools}, capture_output=True,
                              text=True)
        assert proc.returncode == 1 and proc.stdout == "", (proc.returncode, proc.stdout)
        assert proc.stderr == "spark/native/build: no javac (a JDK) on PATH: the native data path is not compiled\n", \
            proc.stderr

    def multiline_auto():
        # Found by the native path only in its tasks: it says so and hands over, and the other
        # paths refuse the record too.
        bad = multiline_file(work)
        code, err, _ = c.run("multiline-auto", jobs, [bad], [], "auto")
        assert code == 1, f"exit {code}: {err}"
        assert "native data path cannot take this input (a quoted field does not close on its line" in err, err
        assert "running the JVM (Spark SQL) data path instead" in err and "holds a line break" in err, err

    def hidden_name():
        # Spark and Hadoop skip files named _* or .* (a glob leaves them out, as they do).
        header, rows = generated(work)
        hidden = write(os.path.join(work, "_hidden.csv"), [header, *rows[:2000]])
        code, err, _ = c.run("hidden", jobs, [hidden], [], "auto")
        assert code == 2 and "start with _ or ." in err, f"exit {code}: {err}"

    def multiline(path):
        # A quoted field holding a line break: neither path can follow a record across lines.
        bad = multiline_file(work)
        code, err, _ = c.run(f"multiline-{path}", jobs, [bad], [], path)
        assert code == 1, f"exit {code}: {err}"
        expected = "holds a line break" if path == "python" else "does not close on its line"
        assert expected in err, err

    def not_utf8(path):
        # Bytes that are not UTF-8 in a column no job reads: one run keeps them (in late rows, say);
        # Spark SQL and Python would change them, so those paths stop.
        bad = os.path.join(work, "latin1.csv")
        with open(bad, "wb") as f:
            f.write(b"timestamp,asset,point,value,note\n2024-03-01T00:00:00Z,m1,Reading,1,caf\xe9\n")
        code, err, (out, late, _) = c.run(f"latin1-{path}", jobs, [bad], [], path)
        if path != "native":
            assert code == 1 and "not UTF-8" in err, f"exit {code}: {err}"
            return
        # The native path carries a line's bytes unchanged, as one run reads them.
        assert code == 0, f"exit {code}: {err}"
        single = os.path.join(work, "latin1.points.csv")
        subprocess.run([binary, "run", *jobs, "--input", bad, "-o", single, "-q"], check=True)
        with open(single, "rb") as f:
            expected = f.read().splitlines()
        got = []
        for part in sorted(glob.glob(os.path.join(out, "part-*"))):
            with open(part, "rb") as f:
                got += f.read().splitlines()[1:]
        assert expected[1:] and sorted(got) == sorted(expected[1:]), (got, expected)

    def failing(path):
        bad = write(os.path.join(work, "bad.csv"), ["timestamp,asset,point,value", "2024-03-01T00:00:00Z,m1,Reading,1",
                                                    "2024-03-01T00:00:01Z,m1,Reading,x"])
        code, err, _ = c.run(f"bad-{path}", jobs, [bad], [], path)
        assert code == 1, f"exit {code}: {err}"
        assert "meterflow run" in err and "exited with status 1" in err and 'invalid value "x"' in err, err

    def refused_global():
        code, err = submit([*jobs, "--input", sample[0], "--binary", binary, "--output", os.path.join(work, "g"),
                            "--watermark", "global"])
        assert code == 2, f"exit {code}"
        assert "--watermark global cannot run on Spark" in err and "cannot be split by asset" in err, err

    def fast_start():
        # spark/submit against a stand-in spark-submit that records its arguments and, when asked
        # for an archive at exit, writes one: the first good run records, the next maps it, a failed
        # run keeps none, cluster deploy mode passes through unchanged.
        root = os.path.join(work, "fast-start")
        os.makedirs(os.path.join(root, "bin"))
        os.makedirs(os.path.join(root, "home", "jars"))
        open(os.path.join(root, "home", "jars", "spark-core.jar"), "w").close()
        fake = os.path.join(root, "bin", "spark-submit")
        with open(fake, "w") as f:
            f.write('#!/bin/bash\nprintf "%s\\n" "$@" >"$ARGS"\n'
                    'for a in "$@"; do case "$a" in *ArchiveClassesAtExit=*) '
                    'p=${a#*ArchiveClassesAtExit=}; echo archive >"${p%% *}" ;; esac; done\n'
                    'exit "${STATUS:-0}"\n')
        os.chmod(fake, 0o755)
        cache, args = os.path.join(root, "cache"), os.path.join(root, "args")
        env = dict(os.environ, PATH=os.path.join(root, "bin") + os.pathsep + os.environ["PATH"],
                   SPARK_HOME=os.path.join(root, "home"), METERFLOW_SPARK_CACHE=cache, ARGS=args)

        def wrapper(*argv, status=0):
            code = subprocess.run([os.path.join(HERE, "submit"), *argv], env=dict(env, STATUS=str(status))).returncode
            with open(args, encoding="utf-8") as f:
                return code, f.read().splitlines()

        code, seen = wrapper("--master", "local[1]", "app.py", "--x", status=3)
        assert code == 3 and "app.py" in seen and "--x" in seen, (code, seen)
        assert "ArchiveClassesAtExit" in seen[1] and os.listdir(cache) == [], (seen, os.listdir(cache))
        code, seen = wrapper("--master", "local[1]", "app.py")
        assert code == 0 and "ArchiveClassesAtExit" in seen[1] and "CompileThresholdScaling=10" in seen[1], seen
        archives = os.listdir(cache)
        assert len(archives) == 1 and archives[0].endswith(".jsa"), archives
        code, seen = wrapper("--master", "local[1]", "app.py")
        assert seen[0] == "--conf" and f"SharedArchiveFile={os.path.join(cache, archives[0])} " in seen[1], seen
        assert seen[2:] == ["--master", "local[1]", "app.py"], seen
        code, seen = wrapper("--master", "yarn", "--deploy-mode", "cluster", "app.py")
        assert seen == ["--master", "yarn", "--deploy-mode", "cluster", "app.py"], seen

    def existing_output():
        code, err, _ = c.run("exists", jobs, sample, ["--output", work], "jvm")
        assert code == 2 and "already exists" in err, f"exit {code}: {err}"

    # Every case that exercises what the paths do differently (reading, keying, ordering, headers,
    # refusals) runs on each; the flags that only reach meterflow (emit mode, watermark scope,
    # --sort-input), passed alike by every path, run on the default (native) path alone. The Python path
    # takes twenty daily files instead of a hundred: each file is a task of its own there (a Python
    # worker and a partition-keys process), which costs minutes in CI at a hundred, and twenty
    # already tell a job per file from none.
    cases = [
        ("[native] seed jobs, emit updates, watermark asset",
         lambda: c.same_as_one_run("seed-updates", jobs, sample, ["--emit", "updates", "--watermark", "asset"], "native")),
        ("[native] generated rows in three files, emit updates, watermark asset",
         lambda: c.same_as_one_run("gen-updates", jobs, gen, ["--emit", "updates", "--watermark", "asset"], "native",
                                   partitions=5, min_late=10)),
        ("[native] generated rows, --sort-input",
         lambda: c.same_as_one_run("gen-sorted", jobs, gen, ["--sort-input"], "native", partitions=3, min_late=0)),
    ]
    for path, days in (("native", 100), ("jvm", 100), ("python", 20)):
        cases += [
            (f"[{path}] seed jobs on samples/meters.csv, emit final",
             lambda path=path: c.same_as_one_run("seed", jobs, sample, [], path)),
            (f"[{path}] generated rows in three files, emit final, watermark series",
             lambda path=path: c.same_as_one_run("gen", jobs, gen, [], path, partitions=5, min_late=10)),
            (f"[{path}] wide file with a constant --asset",
             lambda path=path: c.same_as_one_run("wide", jobs, wide_input(), ["--wide", "--asset", "house"], path,
                                                 min_late=0)),
            (f"[{path}] wide file with its settings in --input-config",
             lambda path=path: c.same_as_one_run("wide-config", jobs, wide_input(), wide_config(), path, min_late=0)),
            (f"[{path}] files with other headers, delimiters, gzip, a BOM, CRLF and quoted assets",
             lambda path=path: c.same_as_one_run("mixed", jobs, mixed_files(work), [], path, partitions=5)),
            (f"[{path}] {days} daily files, no Spark job per file", lambda path=path, days=days: daily(path, days)),
            (f"[{path}] a repeated header line", lambda path=path: repeated_header(path)),
            (f"[{path}] a record over two lines is refused", lambda path=path: multiline(path)),
            (f"[{path}] bytes that are not UTF-8 are refused", lambda path=path: not_utf8(path)),
            (f"[{path}] a failing meterflow fails the run with its stderr", lambda path=path: failing(path)),
        ]
    cases += [
        ("spark/submit records a class-data archive once, then maps it", fast_start),
        ("an existing output directory is refused before any work", existing_output),
        ("a file named _* is refused, saying why", hidden_name),
        ("spark/native/build without javac says so and gives no jar", build_without_javac),
        ("[auto] without the native jar: the JVM path, then the Python path, saying so", without_native),
        ("[auto] a record over two lines: the native path hands it over, saying so", multiline_auto),
        ("--watermark global is refused, saying why", refused_global),
    ]
    passed = failed = 0
    for name, case in cases:
        start = time.monotonic()
        try:
            case()
            print(f"PASS {name} ({time.monotonic() - start:.1f} s)", flush=True)
            passed += 1
        except Exception:
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
            failed += 1
    sc.stop()
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
