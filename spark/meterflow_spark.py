"""Runs meterflow jobs on Apache Spark: rows partitioned by asset, one `meterflow run` per partition.

usage: spark/submit [--master URL] spark/meterflow_spark.py JOBS... --input PATH... [input flags]
           [--emit final|updates] [--watermark series|asset] --binary PATH --output DIR
           [--late-output DIR] [--stats-json FILE] [--partitions N] [--data-path auto|native|sql|jvm|python] [-q]

Every meterflow job is partitionable by asset (event time is kept per series or per asset), so each
asset's rows, replayed in their arrival order by a meterflow process of their own, give the points a
single run gives. The steps (see docs/guides/spark.md):

1. The input files are listed and each one's header is read on the driver (no Spark job), and
   meterflow says once per distinct header where a row's asset is and what the delimiter is
   (`meterflow partition-keys --describe`).
2. Each line gets a position fixed when it is read, which orders the lines of the input as one run
   reads them, and its asset as its key.
3. Rows are partitioned by key and sorted within each partition by position, then each partition
   is piped, its file's header first, into one `meterflow run`.
4. Points and late rows come back and are written as directories of CSV part files, each with the
   header; the figures of every partition are added up for the summary and `--stats-json`.

Steps 2-4 run on one of three data paths. The native path (the default) is a SparkContext and a
Java class (spark/native/, compiled with javac by spark/submit): Hadoop's text input, a byte scan
for the key, lines shuffled in blocks, one meterflow process per partition started by the JVM;
no Spark SQL and no Python on the executors. The JVM path (`--data-path sql`, also spelled `jvm`)
keeps every row in Spark SQL: a text scan, the key computed with SQL string functions, and Spark's
script transformation (`SELECT TRANSFORM ... USING`) feeding meterflow. The Python path reads lines
with `SparkContext.textFile`, asks `meterflow partition-keys` for every line's asset and pipes
partitions through Python workers. `--data-path auto` (the default) takes the native path, falls
back to the JVM path for what it refuses or when its jar is missing, and to the Python path for what
that refuses, saying so on stderr each time (mfspark/native_path.py, mfspark/jvm_path.py,
docs/guides/spark.md).

This file is the command line and the outline of the driver's steps; the steps themselves are the
modules of the package beside it, mfspark/ (see its __init__.py).
"""

import argparse
import json
import os
import sys
from typing import Callable, NamedTuple, Optional

# The runner's modules sit beside this file (spark-submit runs it as a script, from any directory).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mfspark import jvm_path, native_path  # noqa: E402
from mfspark.common import EXIT_RUN, EXIT_USAGE, SHIPPED, Plan, Refused, Stop, TaskFailed, UsageError  # noqa: E402
from mfspark.inputs import check_outputs, describe, dry_run, expand_inputs, read_header  # noqa: E402
from mfspark.python_path import run_python  # noqa: E402
from mfspark.results import add_figures, recheck_balances, summary  # noqa: E402

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
    "--interval-end": True,
    "--null-values": True,
    "--on-bad-row": True,
    "--sort-input": False,
}
# Asset partitions per core by default: a partition's rows are sorted in memory, and at one per
# core a 10M-row input spills to disk in local[2] with a 2 GiB driver (the sort took 6.3 s of
# CPU and spilled 740 MB; at four per core 4.4 s and nothing); more partitions also even out
# assets of unequal size. Each costs one meterflow process, a few milliseconds.
PARTITIONS_PER_CORE = 4
# Run flags passed through unchanged.
RUN_FLAGS = ("--max-future-skew", "--max-open-windows")


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
                   help="asset partitions, one meterflow process each (default: four per core of Spark's "
                        "default parallelism)")
    p.add_argument("--data-path", choices=("auto", "native", "sql", "jvm", "python"), default="auto",
                   help="where rows travel: the JVM through the runner's Java class (native), the JVM through "
                        "Spark SQL and script transformation (sql, also spelled jvm), Python workers, or the "
                        "first of these three that takes the input (auto, the default)")
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


# Set on the SparkContext the runner starts, unless the application's configuration sets them.
# Spark SQL applies every session extension a jar on the class path declares; spark-mllib's, present
# in every Spark distribution, registers ML functions by Scala reflection: about 1 s of CPU before
# the first row (bench/RESULTS.md), for functions the runner never calls. The flag is documented by
# Spark as meant for its tests; extensions named in spark.sql.extensions still apply.
# Kryo serializes the native path's shuffle records (a long and a block of bytes) with less work
# than Java serialization.
CONTEXT_DEFAULTS = {"spark.sql.extensions.test.loadFromCp": "false",
                    "spark.serializer": "org.apache.spark.serializer.KryoSerializer"}


def spark_context():
    """The SparkContext of the application (or the running one), with the runner's defaults."""
    from pyspark import SparkConf, SparkContext

    conf = SparkConf()
    for key, value in CONTEXT_DEFAULTS.items():
        conf.setIfMissing(key, value)
    return SparkContext.getOrCreate(conf)


def main(argv, sc=None):
    """Runs the application; the exit status. With `sc`, runs on that context and leaves it running
    (the tests run many applications on one context)."""
    try:
        args = parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"meterflow-spark: error: {e}\n")
        return EXIT_USAGE
    own = sc is None
    if own:
        sc = spark_context()
        sc.setLogLevel("WARN")
    try:
        return run(sc, args)
    except UsageError as e:
        sys.stderr.write(f"meterflow-spark: error: {e}\n")
        return EXIT_USAGE
    except Stop as e:
        sys.stderr.write(str(e))
        return e.code
    except TaskFailed as e:
        sys.stderr.write(f"meterflow-spark: error: {e}\n")
        return EXIT_RUN
    finally:
        if own:
            sc.stop()


def run(sc, args):
    files = expand_inputs(sc, args.input)
    check_outputs(sc, args)
    for f in files:
        read_header(sc, f)
    jobs = job_files(args.jobs)
    in_flags, flags = input_flags(args), run_flags(args)
    driver_flags = list(in_flags)
    if args.input_config:
        config = os.path.abspath(args.input_config)
        if not os.path.isfile(config):
            raise UsageError(f"--input-config: no file {args.input_config}")
        driver_flags += ["--input-config", config]
        sc.addFile(config)
        in_flags = in_flags + ["--input-config", SHIPPED + os.path.basename(config)]
    points_header, late_header, figures = dry_run(args.binary, jobs, files[0].header, flags + driver_flags)
    keying = {}
    for f in files:
        if f.header not in keying:
            keying[f.header] = describe(args.binary, f, driver_flags)
    sc.addFile(os.path.abspath(args.binary))
    partitions = args.partitions or PARTITIONS_PER_CORE * sc.defaultParallelism
    plan = Plan(files=files, jobs=jobs, flags=flags, in_flags=in_flags, keying=keying,
                binary=os.path.basename(args.binary), partitions=partitions, output=args.output,
                late_output=args.late_output, points_header=points_header, late_header=late_header)
    path, parts = run_on_data_path(sc, plan, "jvm" if args.data_path == "sql" else args.data_path)
    for part in parts:
        figures = add_figures(figures, json.loads(part))
    figures = recheck_balances(figures)
    if not args.quiet:
        sys.stderr.write(summary(figures, len(files), plan.partitions, path.title))
    if args.stats_json:
        with open(args.stats_json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
            f.write("\n")
    if not figures["accounting"]["balanced"]:
        sys.stderr.write("meterflow-spark: error: the added-up figures do not balance (see --stats-json)\n")
        return EXIT_RUN
    return 0


class DataPath(NamedTuple):
    """One data path: its --data-path name; its name in messages, short (`the JVM data path cannot
    take this input`) and long (`running the JVM (Spark SQL) data path instead`, the summary);
    `refusal(sc, plan)`, why it cannot take the input, found before any Spark work (None when it
    can; no function when it takes every input); `run(sc, plan)`, which writes the outputs and
    returns each partition's figures (JSON texts) or raises Refused; and what the error says would
    run instead when the path was named and cannot take the input."""
    name: str
    called: str
    title: str
    refusal: Optional[Callable]
    run: Callable
    instead: Optional[str]


# The data paths in the order `--data-path auto` tries them: each that cannot take the input hands
# it to the next, saying why on stderr.
DATA_PATHS = (
    DataPath("native", "native", "native", native_path.refusal_up_front, native_path.run_native,
             "--data-path auto, sql or python would run another data path"),
    DataPath("jvm", "JVM", "JVM (Spark SQL)", jvm_path.refusal_up_front, jvm_path.run_jvm,
             "--data-path auto or python would run the Python data path"),
    DataPath("python", "Python", "Python", None, run_python, None),
)


def run_on_data_path(sc, plan, chosen):
    """Runs the plan on the data path named `chosen`, or with `auto` on the first of DATA_PATHS that
    takes the input: that path and each partition's figures (JSON texts)."""
    paths = [p for p in DATA_PATHS if chosen in ("auto", p.name)]
    for k, path in enumerate(paths):
        if path.refusal is None:
            return path, path.run(sc, plan)
        reason = path.refusal(sc, plan)
        if reason is None:
            try:
                return path, path.run(sc, plan)
            except Refused as e:
                reason = str(e)
        cannot = f"the {path.called} data path cannot take this input ({reason})"
        if chosen != "auto":
            raise TaskFailed(f"{cannot}; {path.instead}")
        sys.stderr.write(f"meterflow-spark: {cannot}; running the {paths[k + 1].title} data path instead\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
