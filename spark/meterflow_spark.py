"""Runs meterflow jobs on Apache Spark: rows partitioned by asset, one `meterflow run` per partition.

usage: spark-submit [--master URL] spark/meterflow_spark.py JOBS... --input PATH... [input flags]
           [--emit final|updates] [--watermark series|asset] --binary PATH --output DIR
           [--late-output DIR] [--stats-json FILE] [--partitions N] [-q]

Every meterflow job is partitionable by asset (event time is kept per series or per asset), so each
asset's rows, replayed in their arrival order by a meterflow process of their own, give the points a
single run gives. The steps (see docs/spark.md):

1. Each input file is read as text lines keyed by their position: (file ordinal, byte offset of the
   line), which orders the lines of a file as their line numbers do. The first line is its header.
2. `meterflow partition-keys` (with the run's input flags) gives each line's asset exactly as
   `meterflow run` resolves it.
3. Rows are partitioned by asset (crc32, stable across processes) and sorted within each partition
   by position, then each partition is piped into one `meterflow run` (header first).
4. Points and late rows come back and are written as directories of CSV part files, each with the
   header; the figures of every partition are added up for the summary and `--stats-json`.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import zlib

EXIT_RUN, EXIT_USAGE = 1, 2
# Marks the runner's own task errors, so the driver can pick them out of Spark's wrapping.
FAILURE_MARK = "meterflow-spark task failure"

# Input flags passed through to every meterflow process: name -> whether it takes a value.
INPUT_FLAGS = {
    "--wide": False,
    "--time-column": True,
    "--asset-column": True,
    "--point-column": True,
    "--value-column": True,
    "--asset": True,
    "--point": True,
    "--points": True,
    "--delimiter": True,
    "--time-format": True,
    "--timezone": True,
    "--dst": True,
    "--null-values": True,
    "--on-bad-row": True,
    "--sort-input": False,
}
# Run flags passed through unchanged.
RUN_FLAGS = ("--max-future-skew", "--max-open-windows")


class UsageError(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(prog="meterflow_spark.py", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("jobs", nargs="+", metavar="JOB_FILE|DIR")
    p.add_argument("--input", action="append", required=True, metavar="PATH",
                   help="file or glob Spark can read; repeat for several, read in the order given")
    p.add_argument("--input-config", metavar="FILE",
                   help="input settings in a YAML file, as for meterflow run (shipped with SparkContext.addFile)")
    p.add_argument("--binary", required=True, help="the meterflow executable (shipped with SparkContext.addFile)")
    p.add_argument("--output", required=True, metavar="DIR", help="directory of CSV part files of points")
    p.add_argument("--late-output", metavar="DIR", help="directory of CSV part files of rows dropped as late")
    p.add_argument("--stats-json", metavar="FILE", help="the run's figures, every partition's added up")
    p.add_argument("--partitions", type=int, default=None, metavar="N",
                   help="asset partitions, one meterflow process each (default: Spark's default parallelism)")
    p.add_argument("--emit", choices=("final", "updates"), default="final")
    p.add_argument("--watermark", default="series", help="series or asset (global cannot be partitioned)")
    p.add_argument("-q", "--quiet", action="store_true")
    for flag in RUN_FLAGS:
        p.add_argument(flag)
    for flag, takes_value in INPUT_FLAGS.items():
        if flag == "--dst":
            p.add_argument(flag, action="append")
        elif takes_value:
            p.add_argument(flag)
        else:
            p.add_argument(flag, action="store_true")
    args = p.parse_args(argv)
    if args.watermark == "global":
        raise UsageError(
            "--watermark global cannot run on Spark: one clock shared by every asset makes each row's fate "
            "depend on the rows of all other assets before it, so the input cannot be split by asset; "
            "use --watermark asset or series, or run meterflow on one machine")
    if args.watermark not in ("series", "asset"):
        raise UsageError(f"--watermark {args.watermark!r}: expected series or asset")
    if args.partitions is not None and args.partitions < 1:
        raise UsageError("--partitions must be at least 1")
    if not (os.path.isfile(args.binary) and os.access(args.binary, os.X_OK)):
        raise UsageError(f"--binary {args.binary}: not an executable file (chmod +x it)")
    return args


def input_flags(args):
    """The input flags as meterflow's command line."""
    out = []
    for flag, takes_value in INPUT_FLAGS.items():
        value = getattr(args, flag[2:].replace("-", "_"))
        if flag == "--dst":
            for v in value or ():
                out += [flag, v]
        elif takes_value and value is not None:
            out += [flag, value]
        elif not takes_value and value:
            out.append(flag)
    return out


def run_flags(args):
    out = ["--emit", args.emit, "--watermark", args.watermark]
    for flag in RUN_FLAGS:
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            out += [flag, value]
    return out


def job_files(paths):
    """Job arguments expanded as meterflow expands them: a directory gives its *.yaml / *.yml files
    in name order, test files excepted."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path)
                           if n.endswith((".yaml", ".yml")) and not n.endswith((".test.yaml", ".test.yml")))
            files += [os.path.join(path, n) for n in names]
        else:
            files.append(path)
    return files


# A flag value naming a file shipped with SparkContext.addFile, resolved on the executor that runs.
SHIPPED = "spark-file:"


def on_executor(flags):
    """The flags with each shipped file's name replaced by its path on this executor."""
    from pyspark import SparkFiles

    return [SparkFiles.get(f[len(SHIPPED):]) if f.startswith(SHIPPED) else f for f in flags]


def binary_path(name):
    """The shipped binary on this executor, its run bit checked."""
    from pyspark import SparkFiles

    path = SparkFiles.get(name)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{FAILURE_MARK}: the shipped meterflow binary {path} is not executable")
    return path


def pump(lines, stream):
    """Writes lines to a process's stdin on a thread of its own, so its output can be read meanwhile."""

    def write():
        try:
            for line in lines:
                stream.write(line.encode("utf-8", "surrogateescape"))
                stream.write(b"\n")
        except BrokenPipeError:
            pass  # the process stopped early; its exit status and stderr tell why
        finally:
            try:
                stream.close()
            except BrokenPipeError:
                pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def fail(what, code, stderr):
    text = stderr.decode("utf-8", "replace").strip()
    raise RuntimeError(f"{FAILURE_MARK}: {what} exited with status {code}:\n{text}\n")


def keyed_lines(ordinal, header, binary, flags):
    """A mapPartitions function: (offset, line) of file `ordinal` -> ((asset, ordinal, offset), line)."""

    def key(rows):
        # Empty lines are skipped by meterflow's CSV reader; dropping them keeps records and lines one to one.
        rows = [(offset, line) for offset, line in rows if offset != 0 and line != ""]
        if not rows:
            return
        proc = subprocess.Popen([binary_path(binary), "partition-keys", *on_executor(flags)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = []
        err_thread = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
        err_thread.start()
        writer = pump([header] + [line for _, line in rows], proc.stdin)
        n = 0
        for out in proc.stdout:
            number, asset = out.rstrip(b"\n").split(b"\t", 1)
            if n >= len(rows) or int(number) != n + 2:
                proc.kill()
                raise RuntimeError(f"{FAILURE_MARK}: partition-keys answered line {int(number)} for line {n + 2}")
            offset, line = rows[n]
            yield (asset.decode("utf-8", "surrogateescape"), ordinal, offset), line
            n += 1
        writer.join()
        err_thread.join()
        code = proc.wait()
        if code != 0:
            fail("meterflow partition-keys", code, err[0])
        if n != len(rows):
            raise RuntimeError(f"{FAILURE_MARK}: partition-keys answered {n} of {len(rows)} lines")

    return key


def run_partitions(binary, jobs, headers, flags):
    """A mapPartitionsWithIndex function: one `meterflow run` over a partition's rows (in position
    order), yielding ("P", point row), ("L", late row) and ("S", figures as JSON)."""

    def run(index, rows):
        first = next(rows, None)
        if first is None:
            return
        exe = binary_path(binary)
        with tempfile.TemporaryDirectory(prefix="meterflow-spark-") as tmp:
            job_paths = []
            for k, (name, text) in enumerate(jobs):
                os.makedirs(os.path.join(tmp, "jobs", str(k)))
                job_paths.append(os.path.join(tmp, "jobs", str(k), name))
                with open(job_paths[-1], "w", encoding="utf-8") as f:
                    f.write(text)
            points, late, stats = (os.path.join(tmp, n) for n in ("points.csv", "late.csv", "stats.json"))
            one_header = len(set(headers)) == 1

            def all_rows():
                yield first
                yield from rows

            if one_header:
                inputs = ["--input", "-"]
                lines = [headers[0]]
            else:
                # Files with different headers: each file's rows go to a file of their own, read in order.
                inputs, handles = [], {}
                for (_, ordinal, _), line in all_rows():
                    if ordinal not in handles:
                        path = os.path.join(tmp, f"input-{ordinal}.csv")
                        handles[ordinal] = open(path, "w", encoding="utf-8", errors="surrogateescape")
                        handles[ordinal].write(headers[ordinal] + "\n")
                        inputs += ["--input", path]
                    handles[ordinal].write(line + "\n")
                for h in handles.values():
                    h.close()
            cmd = [exe, "run", *job_paths, *inputs, "-o", points, "--late-output", late, "--stats-json", stats,
                   "--threads", "1", "--progress", "never", "-q", *on_executor(flags)]
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if one_header else subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            writer = None
            if one_header:
                writer = pump(_chain(lines, (line for _, line in all_rows())), proc.stdin)
            stderr = proc.stderr.read()
            if writer is not None:
                writer.join()
            code = proc.wait()
            if code != 0:
                fail(f"meterflow run on partition {index}", code, stderr)
            for kind, path in (("P", points), ("L", late)):
                with open(path, encoding="utf-8", errors="surrogateescape") as f:
                    next(f, None)  # the header: the driver writes it once per part file
                    for line in f:
                        yield kind, line.rstrip("\n")
            with open(stats, encoding="utf-8") as f:
                yield "S", f.read()

    return run


def _chain(*iterables):
    for it in iterables:
        yield from it


def add_figures(total, part):
    """Adds one partition's figures to the total: counts add up, watermarks take the latest, flags
    must hold everywhere, lists of jobs, policies and balances add element by element, samples gather."""
    if isinstance(total, bool):
        return total and part
    if isinstance(total, (int, float)) and isinstance(part, (int, float)):
        return total + part
    if isinstance(total, dict):
        out = dict(total)
        for k, v in part.items():
            if k not in out or out[k] is None:
                out[k] = v
            elif k == "final_watermark":
                out[k] = max(out[k], v) if v is not None else out[k]
            elif k == "samples":
                out[k] = out[k] + v
            else:
                out[k] = add_figures(out[k], v)
        return out
    if isinstance(total, list) and isinstance(part, list) and len(total) == len(part):
        return [add_figures(a, b) for a, b in zip(total, part)]
    return total


def recheck_balances(figures):
    """The balances recomputed from the added-up parts: each total is the sum of its parts."""
    balances = figures.get("accounting", {}).get("balances", [])
    for b in balances:
        b["holds"] = b.get("total") == sum(b.get("parts", {}).values())
    figures.setdefault("accounting", {})["balanced"] = all(b["holds"] for b in balances)
    return figures


def summary(figures, inputs, partitions):
    i = figures["input"]
    lines = [f"meterflow-spark: {i['rows']} rows read from {inputs} input{'s' if inputs != 1 else ''} in "
             f"{partitions} partitions ({i['missing_values']} missing values skipped, {i['rejected']} bad rows "
             f"skipped, {i['rows_of_unread_points']} rows of points or models no job reads)"]
    for job in figures["jobs"]:
        lines.append(f"  {job['name']}: {job['rows_read']} rows read, {job['kept']} kept, {job['late_dropped']} "
                     f"late dropped, {job['rows_written']} rows written, final watermark {job['final_watermark']}")
    return "\n".join(lines) + "\n"


def dry_run(binary, jobs, header, flags):
    """One `meterflow run` over the header alone on the driver: checks the job files and flags before
    any Spark work (exit 2 on a usage or job error, as meterflow) and gives the output headers and
    the zero figures the partitions' figures are added to."""
    with tempfile.TemporaryDirectory(prefix="meterflow-spark-") as tmp:
        paths = [os.path.join(tmp, n) for n in ("points.csv", "late.csv", "stats.json")]
        proc = subprocess.run([binary, "run", *jobs, "--input", "-", "-o", paths[0], "--late-output", paths[1],
                               "--stats-json", paths[2], "--threads", "1", "--progress", "never", "-q", *flags],
                              input=(header + "\n").encode("utf-8", "surrogateescape"), capture_output=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr.decode("utf-8", "replace"))
            sys.exit(proc.returncode)
        heads = []
        for path in paths[:2]:
            with open(path, encoding="utf-8") as f:
                heads.append(f.readline().rstrip("\n"))
        with open(paths[2], encoding="utf-8") as f:
            return heads[0], heads[1], json.load(f)


def expand_inputs(sc, patterns):
    """Each input path or glob as the files it names (a glob's in name order), through Hadoop's
    file systems so any URL Spark reads works."""
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()
    files = []
    for pattern in patterns:
        path = jvm.org.apache.hadoop.fs.Path(pattern)
        statuses = path.getFileSystem(conf).globStatus(path)
        found = sorted(str(s.getPath().toString()) for s in (statuses or []) if s.isFile())
        if not found:
            raise UsageError(f"--input {pattern}: no file matches")
        files += found
    return files


# Leading bytes of compressed data, which Hadoop decompresses only when the file name ends in the
# codec's extension: without it the lines would be read as garbage.
MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
BOM = "\ufeff"
# Longer first lines are not a header: reading stops there.
MAX_HEADER = 1 << 20


def read_header(sc, name):
    """The first line of a file as meterflow takes it (a UTF-8 byte-order mark dropped), read on the
    driver through Hadoop's file system and codec for the file's name, as Spark reads the lines:
    no Spark job, whatever the number of files."""
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(name)
    codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(conf).getCodec(path)
    stream = path.getFileSystem(conf).open(path)
    try:
        if codec is not None:
            stream = codec.createInputStream(stream)
        line = jvm.org.apache.hadoop.io.Text()
        read = jvm.org.apache.hadoop.util.LineReader(stream).readLine(line, MAX_HEADER, MAX_HEADER)
        raw = bytes(line.copyBytes())
    finally:
        stream.close()
    if read == 0:
        raise UsageError(f"{name}: the input is empty; expected a header such as timestamp,asset,point,value")
    if codec is None:
        for magic, kind in MAGIC.items():
            if raw.startswith(magic):
                raise UsageError(f"{name}: the file is {kind}-compressed but its name does not end in "
                                 f"{'.gz' if kind == 'gzip' else '.zst'}; Spark decompresses by file extension")
    if read >= MAX_HEADER:
        raise UsageError(f"{name}: the first line is over {MAX_HEADER} bytes long; expected a header")
    try:
        header = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{name}: the header is not UTF-8 ({e.reason} at byte {e.start})") from None
    return header[len(BOM):] if header.startswith(BOM) else header


def with_header(header):
    def add(rows):
        yield header
        yield from rows

    return add


def main(argv, sc=None):
    """Runs the application; the exit status. With `sc`, runs on that context and leaves it running
    (the tests run many applications on one context)."""
    try:
        args = parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"meterflow-spark: error: {e}\n")
        return EXIT_USAGE
    from pyspark import SparkContext

    own = sc is None
    if own:
        sc = SparkContext.getOrCreate()
        sc.setLogLevel("WARN")
    try:
        return run(sc, args)
    except UsageError as e:
        sys.stderr.write(f"meterflow-spark: error: {e}\n")
        return EXIT_USAGE
    finally:
        if own:
            sc.stop()


def task_failure(error):
    """Our task's message out of Spark's error text, or None."""
    text = str(error)
    at = text.find(FAILURE_MARK)
    if at < 0:
        return None
    end = text.find("\n\tat ", at)
    return text[at + len(FAILURE_MARK) + 2:end if end > 0 else None].strip()


def run(sc, args):
    files = expand_inputs(sc, args.input)
    jobs = job_files(args.jobs)
    in_flags, flags = input_flags(args), run_flags(args)
    text_format = "org.apache.hadoop.mapreduce.lib.input.TextInputFormat"
    readers = [sc.newAPIHadoopFile(f, text_format, "org.apache.hadoop.io.LongWritable", "org.apache.hadoop.io.Text")
               for f in files]
    headers = [read_header(sc, f) for f in files]
    driver_flags = flags + in_flags
    if args.input_config:
        config = os.path.abspath(args.input_config)
        if not os.path.isfile(config):
            raise UsageError(f"--input-config: no file {args.input_config}")
        driver_flags += ["--input-config", config]
        sc.addFile(config)
        in_flags = in_flags + ["--input-config", SHIPPED + os.path.basename(config)]
    points_header, late_header, figures = dry_run(args.binary, jobs, headers[0], driver_flags)

    sc.addFile(os.path.abspath(args.binary))
    binary = os.path.basename(args.binary)
    job_texts = []
    for path in jobs:
        with open(path, encoding="utf-8") as f:
            job_texts.append((os.path.basename(path), f.read()))
    partitions = args.partitions or sc.defaultParallelism
    keyed = sc.union([rdd.mapPartitions(keyed_lines(k, headers[k], binary, in_flags))
                      for k, rdd in enumerate(readers)])
    by_asset = keyed.repartitionAndSortWithinPartitions(
        numPartitions=partitions,
        partitionFunc=lambda key: zlib.crc32(key[0].encode("utf-8", "surrogateescape")),
        keyfunc=lambda key: (key[1], key[2]))
    results = by_asset.mapPartitionsWithIndex(run_partitions(binary, job_texts, headers, flags + in_flags),
                                              preservesPartitioning=True)
    from pyspark import StorageLevel
    from py4j.protocol import Py4JJavaError

    results.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        parts = results.filter(lambda r: r[0] == "S").map(lambda r: r[1]).collect()
        for kind, directory, header in (("P", args.output, points_header), ("L", args.late_output, late_header)):
            if directory is not None:
                (results.filter(lambda r, kind=kind: r[0] == kind).map(lambda r: r[1])
                 .mapPartitions(with_header(header)).saveAsTextFile(directory))
    except Py4JJavaError as e:
        message = task_failure(e.java_exception)
        sys.stderr.write(f"meterflow-spark: error: {message if message else e.java_exception}\n")
        return EXIT_RUN
    finally:
        results.unpersist()
    for part in parts:
        figures = add_figures(figures, json.loads(part))
    figures = recheck_balances(figures)
    if not args.quiet:
        sys.stderr.write(summary(figures, len(files), partitions))
    if args.stats_json:
        with open(args.stats_json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
            f.write("\n")
    if not figures["accounting"]["balanced"]:
        sys.stderr.write("meterflow-spark: error: the added-up figures do not balance (see --stats-json)\n")
        return EXIT_RUN
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
