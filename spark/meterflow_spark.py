"""Runs meterflow jobs on Apache Spark: rows partitioned by asset, one `meterflow run` per partition.

usage: spark-submit [--master URL] spark/meterflow_spark.py JOBS... --input PATH... [input flags]
           [--emit final|updates] [--watermark series|asset] --binary PATH --output DIR
           [--late-output DIR] [--stats-json FILE] [--partitions N] [--data-path auto|jvm|python] [-q]

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

Steps 2-4 run on one of two data paths. The JVM path (the default) keeps every row in the JVM: a
Spark SQL text scan, the key computed with SQL string functions, and Spark's script transformation
(`SELECT TRANSFORM ... USING`) feeding meterflow; no Python runs on the executors. The Python path
reads lines with `SparkContext.textFile`, asks `meterflow partition-keys` for every line's asset and
pipes partitions through Python workers: about three times the CPU per row, kept for what the JVM
path refuses (`refusal_up_front` and `Refused` below, docs/spark.md), to which `--data-path auto`
falls back by itself, saying so on stderr.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
import zlib

EXIT_RUN, EXIT_USAGE = 1, 2
# Marks the runner's own task errors, so the driver can pick them out of Spark's wrapping.
FAILURE_MARK = "meterflow-spark task failure"
# Marks what the JVM data path cannot take as one run would, raised from inside its Spark jobs.
REFUSAL_MARK = "meterflow-spark refusal"

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
# Run flags passed through unchanged.
RUN_FLAGS = ("--max-future-skew", "--max-open-windows")


class UsageError(Exception):
    """A usage error: exit status 2."""


class Stop(Exception):
    """Ends the application with this exit status after writing the message (meterflow's own
    messages, already formatted)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class TaskFailed(Exception):
    """A task failed (a meterflow process, a line the runner cannot carry): exit status 1."""


class Refused(Exception):
    """The JVM data path cannot take this input as one run would; the message says why."""


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
    p.add_argument("--data-path", choices=("auto", "jvm", "python"), default="auto",
                   help="where rows travel: the JVM (Spark SQL and script transformation), Python workers, or "
                        "the JVM unless it refuses the input (default)")
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


# ---- The driver's steps, common to both data paths ---------------------------------------------


class InputFile:
    """One input file: its name as listed, its size in bytes, and its first line as read (`raw`, a
    byte-order mark kept) and as meterflow takes it (`header`)."""

    def __init__(self, name, size):
        self.name, self.size = name, size
        self.raw = self.header = None


def expand_inputs(sc, patterns):
    """Each input path or glob as the files it names (a glob's in name order), through Hadoop's
    file systems so any URL Spark reads works."""
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()
    files = []
    for pattern in patterns:
        path = jvm.org.apache.hadoop.fs.Path(pattern)
        statuses = path.getFileSystem(conf).globStatus(path)
        found = sorted((str(s.getPath().toString()), s.getLen()) for s in (statuses or []) if s.isFile())
        glob = any(c in pattern for c in "*?[{")
        if glob:
            # As Hadoop and Spark list a directory: _SUCCESS markers and the like are not data.
            found = [f for f in found if not hidden(f[0])]
        elif found and hidden(found[0][0]):
            raise UsageError(f"--input {pattern}: Spark and Hadoop do not read files whose names start with _ or .; "
                             "rename it")
        if not found:
            raise UsageError(f"--input {pattern}: no file matches")
        files += [InputFile(*f) for f in found]
    return files


def hidden(name):
    return name.rstrip("/").rsplit("/", 1)[-1].startswith(("_", "."))


def check_outputs(sc, args):
    """Refuses output directories that exist before any work: Spark would not overwrite them."""
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()
    for flag, directory in (("--output", args.output), ("--late-output", args.late_output)):
        if directory is not None:
            path = jvm.org.apache.hadoop.fs.Path(directory)
            if path.getFileSystem(conf).exists(path):
                raise UsageError(f"{flag} {directory}: already exists; give a new directory")


# Leading bytes of compressed data, which Hadoop decompresses only when the file name ends in the
# codec's extension: without it the lines would be read as garbage.
MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
BOM = "\ufeff"
# Longer first lines are not a header: reading stops there.
MAX_HEADER = 1 << 20


def read_header(sc, f):
    """Sets the first line of a file, as read and as meterflow takes it (a UTF-8 byte-order mark
    dropped), read on the driver through Hadoop's file system and the codec for the file's name, as
    Spark reads the lines: no Spark job, whatever the number of files."""
    jvm = sc._jvm
    conf = sc._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(f.name)
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
        raise UsageError(f"{f.name}: the input is empty; expected a header such as timestamp,asset,point,value")
    if codec is None:
        for magic, kind in MAGIC.items():
            if raw.startswith(magic):
                raise UsageError(f"{f.name}: the file is {kind}-compressed but its name does not end in "
                                 f"{'.gz' if kind == 'gzip' else '.zst'}; Spark decompresses by file extension")
    if read >= MAX_HEADER:
        raise UsageError(f"{f.name}: the first line is over {MAX_HEADER} bytes long; expected a header")
    try:
        f.raw = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{f.name}: the header is not UTF-8 ({e.reason} at byte {e.start})") from None
    f.header = f.raw[len(BOM):] if f.raw.startswith(BOM) else f.raw
    if f.header.strip() == "":
        # meterflow would take the next line as the header, and both data paths the first.
        raise UsageError(f"{f.name}: the first line is empty; the Spark runner takes the first line as the "
                         "header: remove the empty lines before it")


def dry_run(binary, jobs, header, flags):
    """One `meterflow run` over the header alone on the driver: checks the job files and flags before
    any Spark work (exit 2 on a usage or job error, as meterflow) and gives the output headers and
    the zero figures the partitions' figures are added to."""
    with tempfile.TemporaryDirectory(prefix="meterflow-spark-") as tmp:
        paths = [os.path.join(tmp, n) for n in ("points.csv", "late.csv", "stats.json")]
        proc = subprocess.run([binary, "run", *jobs, "--input", "-", "-o", paths[0], "--late-output", paths[1],
                               "--stats-json", paths[2], "--threads", "1", "--progress", "never", "-q", *flags],
                              input=(header + "\n").encode("utf-8"), capture_output=True)
        if proc.returncode != 0:
            raise Stop(proc.returncode, proc.stderr.decode("utf-8", "replace"))
        heads = []
        for path in paths[:2]:
            with open(path, encoding="utf-8") as f:
                heads.append(f.readline().rstrip("\n"))
        with open(paths[2], encoding="utf-8") as f:
            return heads[0], heads[1], json.load(f)


def describe(binary, f, flags):
    """Where meterflow finds the asset in the rows under `f`'s header, and their delimiter:
    (delimiter byte, ("column", index) or ("constant", name)), from `partition-keys --describe`."""
    proc = subprocess.run([binary, "partition-keys", "--describe", *flags], input=(f.header + "\n").encode("utf-8"),
                          capture_output=True)
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").replace("<stdin>", f.name, 1)
        raise Stop(proc.returncode, message)
    answer = dict(line.split("\t", 1) for line in proc.stdout.decode("utf-8").splitlines())
    if "asset-column" in answer:
        return int(answer["delimiter"]), ("column", int(answer["asset-column"]))
    return int(answer["delimiter"]), ("constant", answer["asset"])


# ---- The JVM data path ---------------------------------------------------------------------------
#
# Each line of the input is read by a Spark SQL text scan and given a position that is fixed at read
# time: the file's place in the input, the split's start (`_metadata.file_block_start`) and
# `monotonically_increasing_id()`, which increases in line order within a split. Lines equal to a
# header and empty lines are dropped (a count proves no other line was). The key, a function of the
# asset that meterflow will find in the row, is computed with SQL string functions from where
# `partition-keys --describe` says the asset is. Rows are repartitioned by key and sorted by
# position, and each partition goes through one `meterflow run` by Spark's script transformation,
# which prints the points, late rows and figures tagged on stdout.

# Bits of a position below the split: `monotonically_increasing_id()` keeps the row's index within
# its scan partition there.
ROW_BITS = 33
# Trimmed around the key: a superset of what meterflow trims around a field (ASCII whitespace), so
# fields equal after meterflow's trim get equal keys.
TRIM = " \t\n\x0b\x0c\r"


def java_byte(byte):
    """One byte as a Java regex escape, valid inside and outside a character class."""
    return f"\\x{{{byte:02x}}}"


def field_pattern(delimiter):
    """One CSV field as the csv crate reads it (quote `"`, doubled inside quotes, no escape
    character): a quoted field, whose closing quote may be followed by more text up to the
    delimiter (the crate keeps it), or an unquoted one, in which quotes are plain text, or nothing.
    Possessive throughout: the crate never takes back a byte."""
    d = java_byte(delimiter)
    return f'(?:"(?:[^"]|"")*+"[^{d}]*+|[^{d}"][^{d}]*+)?'


def line_pattern(delimiter):
    """A line that is one whole record: every quoted field closes on it."""
    field = field_pattern(delimiter)
    return f"\\A{field}(?:{java_byte(delimiter)}{field})*+\\z"


def nth_field_pattern(delimiter, index):
    """Captures the field at `index` (from 0) of a whole record."""
    field = field_pattern(delimiter)
    return f"\\A(?:{field}{java_byte(delimiter)}){{{index}}}({field})"


def key_of_name(name):
    """The key of an asset name: quotes removed, trimmed. The key of any field meterflow reads as
    this asset is the same: meterflow's value of a field is its text with the enclosing quotes
    dropped and doubled quotes halved, then trimmed, so removing every quote from the raw field and
    trimming gives what removing every quote from the asset gives."""
    return name.replace('"', "").strip(TRIM)


def key_column(F, value, delimiter, asset):
    """The key of each line under one header (a Column): the asset's field found by position on a
    line without quotes (the common case: a few byte scans), or matched against the CSV grammar on
    a line with quotes, then trimmed. A line whose quoted field does not close on it stops the job:
    its record goes on on the next line, which a line-by-line read cannot follow. (Every part
    appears once: Spark evaluates a repeated part as often as it appears here.)"""
    kind, where = asset
    d = chr(delimiter)
    refusal = F.raise_error(F.concat(F.lit(f"{REFUSAL_MARK}: a quoted field does not close on its line, so its "
                                           "record goes on on the next one, and Spark reads lines: "),
                                     F.substring(value, 1, 200)))
    if kind == "constant":
        return (F.when(value.contains('"') & ~value.rlike(line_pattern(delimiter)), refusal)
                .otherwise(F.lit(key_of_name(where))))
    field = (F.substring_index(value, d, 1) if where == 0
             else F.substring_index(F.substring_index(value, d, where + 1), d, -1))
    quoted = F.regexp_replace(F.regexp_extract(value, nth_field_pattern(delimiter, where), 1), '"', "")
    return F.btrim(F.when(value.contains('"'), F.when(value.rlike(line_pattern(delimiter)), quoted)
                          .otherwise(refusal))
                   .otherwise(field), F.lit(TRIM))


def refusal_up_front(files, keying):
    """Why the JVM path cannot take these inputs, found before any Spark work; None when it can."""
    names = [f.name for f in files]
    for name in names:
        if names.count(name) > 1:
            return f"{name} is given twice, and Spark SQL reads a file once"
    from pyspark.sql import functions as F

    if not hasattr(F, "is_valid_utf8"):
        return "this Spark has no is_valid_utf8 (Spark 4.0 and later have)"
    for delimiter, _ in keying.values():
        if delimiter >= 0x80 or delimiter in b'"\n\r':
            return f"the delimiter byte {delimiter} cannot be matched in Spark SQL's strings"
    return None


def split_shift(spark):
    """log2 of the least distance between two split starts of one file: Spark cuts a file at
    multiples of its split size, which is at least the smaller of spark.sql.files.maxPartitionBytes
    and spark.sql.files.openCostInBytes. A split's start shifted right by this is its index."""
    to_bytes = spark.sparkContext._jvm.org.apache.spark.network.util.JavaUtils.byteStringAsBytes
    least = min(to_bytes(spark.conf.get("spark.sql.files.maxPartitionBytes", "128m")),
                to_bytes(spark.conf.get("spark.sql.files.openCostInBytes", "4m")))
    return max(least.bit_length() - 1, 0)


def spark_urls(sc, listed, files):
    """The spellings Spark SQL may give each file's name in `_metadata.file_path`, by file: its URL
    as Spark listed it, and with an empty authority also the other way to write that (Spark spells
    `file:/x` as `file:///x` in one place and `file:/x` in another)."""
    def path_of(name):
        uri = sc._jvm.org.apache.hadoop.fs.Path(name).toUri()
        return str(uri.getScheme() or "file"), str(uri.getPath())

    by_path = {path_of(url): url for url in listed}
    spellings = []
    for f in files:
        url = by_path.get(path_of(f.name))
        if url is None:
            raise Refused(f"Spark SQL does not list {f.name} among the files it reads")
        scheme, _, rest = url.partition(":")
        if rest.startswith("///"):
            spellings.append([url, f"{scheme}:{rest[2:]}"])
        elif rest.startswith("/") and not rest.startswith("//"):
            spellings.append([url, f"{scheme}://{rest}"])
        else:
            spellings.append([url])
    return spellings


def glob_escaped(name):
    """A file name as a path Spark SQL does not expand as a glob."""
    return "".join("\\" + c if c in "\\*?[]{}" else c for c in name)


def hadoop_input(name):
    """A file name as a Hadoop input path, which is also cut at commas outside braces."""
    return glob_escaped(name).replace(",", "{\\,}")


def sql_string(text):
    """A Spark SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


SCRIPT = r"""#!/bin/bash
# One partition of the meterflow Spark runner: the partition's rows on stdin, in position order,
# through one `meterflow run`; prints the points (P), late rows (L) and figures (S), one line each.
# $1: the directory of the files shipped with the application. Written by meterflow_spark.py.
set -u
d=$1
t=$(mktemp -d "${TMPDIR:-/tmp}/meterflow-spark.XXXXXX") || { cat >/dev/null; echo "@FAIL@: mktemp failed" >&2; exit 1; }
trap 'rm -rf "$t"' EXIT
fail() {
  # Reads the rest of stdin, so that Spark's writer ends and Spark reports this script's stderr.
  cat >/dev/null
  printf '%s\n' "@FAIL@: $1" >&2
  if [ -s "$t/err" ]; then tail -c 1500 "$t/err" >&2; fi
  exit 1
}
b="$d/@BINARY@"
[ -x "$b" ] || fail "the shipped meterflow binary $b is not executable"
@JOBS@
@FEED@
[ "$code" = 0 ] || fail "meterflow run exited with status $code:"
# Spark reads these lines back cutting at CR as well as LF.
! LC_ALL=C grep -q $'\r' "$t/points" @LATE_FILE@ || fail "an output row holds a carriage return"
LC_ALL=C sed 's/^/P/' "$t/points" || fail "could not read the points"
@LATE@
{ printf S; tr -d '\n' <"$t/stats"; printf '\n'; } || fail "could not read the figures"
"""

# The rows of one header class after another, each class's run of rows into a file of its own
# after that header (meterflow reads its inputs in order, each with its header).
FEED_CLASSES = r"""LC_ALL=C T="$t" H="$d/@HEADER@" awk '
{
  i = index($0, ":"); c = substr($0, 1, i - 1)
  if (c != class) {
    if (file != "") close(file)
    n++; file = ENVIRON["T"] "/input" n ".csv"; class = c; header = ENVIRON["H"] c
    while ((getline line < header) > 0) print line > file
    close(header)
    print file > (ENVIRON["T"] "/inputs")
  }
  print substr($0, i + 1) > file
}' || fail "could not write the partition's rows to $t"
inputs=()
while IFS= read -r f; do inputs+=(--input "$f"); done <"$t/inputs"
"$b" run "$@" "${inputs[@]}" @RUN@ </dev/null 2>"$t/err"
code=$?"""

FEED_ONE = r"""{ cat "$d/@HEADER@0" && exec cat; } | "$b" run "$@" --input - @RUN@ 2>"$t/err"
code=${PIPESTATUS[1]}"""


def transform_script(names, binary, job_names, classes, flags, late):
    """The bash script each partition runs (see SCRIPT)."""
    jobs = [f'mkdir -p "$t/jobs/{k}" && cp "$d/{names["job"]}{k}" "$t/jobs/{k}/"{shlex.quote(n)} '
            '|| fail "could not copy the job files to $t"' for k, n in enumerate(job_names)]
    jobs.append("set -- " + " ".join(f'"$t/jobs/{k}/"{shlex.quote(n)}' for k, n in enumerate(job_names)))
    run = ['-o "$t/points"', '--stats-json "$t/stats"', "--threads 1 --progress never -q"]
    if late:
        run.insert(1, '--late-output "$t/late"')
    run += [f'"$d/{f[len(SHIPPED):]}"' if f.startswith(SHIPPED) else shlex.quote(f) for f in flags]
    feed = FEED_ONE if classes == 1 else FEED_CLASSES
    return (SCRIPT.replace("@FEED@", feed).replace("@JOBS@", "\n".join(jobs)).replace("@RUN@", " ".join(run))
            .replace("@HEADER@", names["header"]).replace("@BINARY@", binary).replace("@FAIL@", FAILURE_MARK)
            .replace("@LATE@", """LC_ALL=C sed 's/^/L/' "$t/late" || fail "could not read the late rows\""""
                     if late else "")
            .replace("@LATE_FILE@", '"$t/late"' if late else ""))


def spark_error(error):
    """The runner's message out of a Spark error: Refused or TaskFailed, or None."""
    text = str(error)
    java = getattr(error, "java_exception", None)
    if java is not None:
        text += "\n" + str(java)
    for mark, kind in ((REFUSAL_MARK, Refused), (FAILURE_MARK, TaskFailed)):
        at = text.find(mark)
        if at >= 0:
            end = min((e for e in (text.find("\n\tat ", at), text.find(" SQLSTATE", at)) if e > 0), default=None)
            return kind(text[at + len(mark) + 2:end].strip())
    return None


def run_jvm(sc, plan):
    """The JVM data path: writes the outputs and returns each partition's figures (JSON texts)."""
    from pyspark import SparkFiles
    from pyspark.sql import Observation, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.utils import AnalysisException

    spark = SparkSession.builder.getOrCreate()
    # Adaptive execution would coalesce the asset partitions and re-plan the sort; this plan is fixed.
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    token = uuid.uuid4().hex[:12]
    names = {"job": f"mf-{token}-job", "header": f"mf-{token}-header", "script": f"mf-{token}.sh"}
    headers = list(dict.fromkeys(f.header for f in plan.files))
    classes = {h: c for c, h in enumerate(headers)}
    stage = tempfile.mkdtemp(prefix="meterflow-spark-")
    view = f"meterflow_rows_{token}"
    scratch = f"{plan.output.rstrip('/')}.meterflow-{token}"
    try:
        # The shipped files: the jobs (their names kept, as meterflow reports them), each header
        # class's header and the script; the binary and the input config are shipped by run().
        shipped = [(f"{names['job']}{k}", open(path, "rb").read()) for k, path in enumerate(plan.jobs)]
        shipped += [(f"{names['header']}{c}", (h + "\n").encode("utf-8")) for c, h in enumerate(headers)]
        script = transform_script(names, plan.binary, [os.path.basename(p) for p in plan.jobs], len(headers),
                                  plan.in_flags + plan.flags, plan.late_output is not None)
        shipped.append((names["script"], script.encode("utf-8")))
        for name, data in shipped:
            with open(os.path.join(stage, name), "wb") as f:
                f.write(data)
            sc.addFile(os.path.join(stage, name))

        shift = split_shift(spark)
        slots, bases = 0, []
        for f in plan.files:
            bases.append(slots)
            slots += (f.size >> shift) + 1
        if slots >= 1 << (63 - ROW_BITS):
            raise Refused(f"{len(plan.files)} files of {sum(f.size for f in plan.files)} bytes need more than "
                          f"{63 - ROW_BITS} bits of split in a row's position")
        try:
            scan = spark.read.format("text").load([glob_escaped(f.name) for f in plan.files])
            spellings = spark_urls(sc, scan.inputFiles(), plan.files)
            scan = scan.select("value", F.col("_metadata.file_path").alias("file"),
                               F.col("_metadata.file_block_start").alias("start"),
                               F.monotonically_increasing_id().alias("seq"))
        except AnalysisException as e:
            raise Refused(f"this Spark cannot give a line's file and split start ({e})") from None
        if len(plan.files) == 1:
            scan = scan.withColumn("base", F.lit(0).cast("long")).withColumn("class", F.lit(0))
        else:
            table = spark.createDataFrame([(url, bases[k], classes[f.header]) for k, f in enumerate(plan.files)
                                           for url in spellings[k]], "url string, base long, class int")
            scan = scan.join(F.broadcast(table), scan.file == table.url, "left")
        value = F.col("value")

        def per_class(columns):
            chosen = columns[0]
            for c in range(1, len(columns)):
                chosen = F.when(F.col("class") == c, columns[c]).otherwise(chosen)
            return chosen

        def failure(mark, text, detail):
            return F.raise_error(F.concat(F.lit(f"{mark}: {text}"), F.substring(detail, 1, 200)))

        # The position, and the checks that stop the job at the first line the path cannot carry
        # (a line whose record goes on on the next one stops it in the key).
        position = (F.when(~F.is_valid_utf8(value),
                           failure(FAILURE_MARK, "a line is not UTF-8, and Spark's script transformation would "
                                   "change its bytes: ", F.make_valid_utf8(value)))
                    .when(F.col("base").isNull(),
                          failure(REFUSAL_MARK, "Spark SQL named an input file unlike its listing: ", F.col("file")))
                    .otherwise(F.shiftleft(F.col("base") + F.shiftright(F.col("start"), shift), ROW_BITS)
                               .bitwiseOR(F.col("seq").bitwiseAND(F.lit((1 << ROW_BITS) - 1)))))
        is_header = value.isin(list(dict.fromkeys(f.raw for f in plan.files)))
        is_row = ~is_header & (value != "")
        seen = Observation(f"meterflow_{token}")
        scan = scan.observe(seen, F.count_if(is_header).alias("headers"), F.count_if(is_row).alias("rows"))
        key = per_class([key_column(F, value, *plan.keying[h]) for h in headers])
        carried = [value, position.alias("position")] + (["class"] if len(headers) > 1 else [])
        rows = (scan.filter(is_row).select(*carried)
                .repartition(plan.partitions, key).sortWithinPartitions("position"))
        rows.createOrReplaceTempView(view)
        line = "value" if len(headers) == 1 else "concat(cast(class as string), ':', value)"
        using = (f"d=.; [ -e ./{names['script']} ] || d={shlex.quote(SparkFiles.getRootDirectory())}; "
                 f'exec /bin/bash "$d/{names["script"]}" "$d"')
        out = spark.sql(f"SELECT TRANSFORM({line}) USING {sql_string(using)} AS (line string) "
                        f"ROW FORMAT DELIMITED FIELDS TERMINATED BY '\\n' FROM {view}")
        # One job: every partition's output lines, sorted by tag and then in the order printed (so
        # each part file starts with its header), into a directory per tag beside the output; the
        # outputs get their names only once the counts check out.
        raw = F.col("line").cast("binary")
        tagged = (out.select(F.substring(raw, 1, 1).cast("string").alias("tag"),
                             F.substring(raw, 2, 1 << 30).cast("string").alias("value"),
                             F.monotonically_increasing_id().alias("order"))
                  .sortWithinPartitions("tag", "order").select("tag", "value"))
        try:
            tagged.write.partitionBy("tag").text(scratch)
        except Exception as e:
            mine = spark_error(e)
            if mine is None:
                raise
            raise mine from None
        parts = read_lines(sc, f"{scratch}/tag=S")
        counts = seen.get
        if counts["headers"] != len(plan.files):
            raise Refused(f"{counts['headers']} lines equal to a header in {len(plan.files)} files: a data line "
                          "equal to its file's header (a repeated header), or a file Spark SQL did not read")
        fed = sum(json.loads(p)["input"]["rows"] for p in parts)
        if fed != counts["rows"]:
            raise Refused(f"meterflow read {fed} rows of the {counts['rows']} data lines Spark SQL read")
        for tag, directory, header in (("P", plan.output, plan.points_header), ("L", plan.late_output, plan.late_header)):
            if directory is not None:
                settle(sc, f"{scratch}/tag={tag}", directory, header)
        return parts
    finally:
        spark.catalog.dropTempView(view)
        shutil.rmtree(stage, ignore_errors=True)
        delete(sc, scratch)


def hadoop_path(sc, name):
    """A Hadoop Path and its file system."""
    path = sc._jvm.org.apache.hadoop.fs.Path(name)
    return path, path.getFileSystem(sc._jsc.hadoopConfiguration())


def read_lines(sc, directory):
    """The lines of the part files in a directory (none when it does not exist), read on the driver."""
    path, fs = hadoop_path(sc, directory)
    if not fs.exists(path):
        return []
    lines = []
    for status in fs.listStatus(path):
        if not status.getPath().getName().startswith("part-"):
            continue
        stream = fs.open(status.getPath())
        try:
            reader = sc._jvm.org.apache.hadoop.util.LineReader(stream)
            line = sc._jvm.org.apache.hadoop.io.Text()
            while reader.readLine(line) > 0:
                lines.append(bytes(line.copyBytes()).decode("utf-8"))
        finally:
            stream.close()
    return lines


def settle(sc, scratch, directory, header):
    """Gives the part files in `scratch` their final directory, marked as complete (`_SUCCESS`), or
    when no partition had a row, writes one part file holding the header."""
    source, fs = hadoop_path(sc, scratch)
    target, target_fs = hadoop_path(sc, directory)
    if not fs.exists(source):
        target_fs.mkdirs(target)
        stream = target_fs.create(sc._jvm.org.apache.hadoop.fs.Path(target, "part-00000"))
        try:
            stream.write(bytearray((header + "\n").encode("utf-8")))
        finally:
            stream.close()
    elif not (target_fs.mkdirs(target.getParent()) and fs.rename(source, target)):
        if not sc._jvm.org.apache.hadoop.fs.FileUtil.copy(fs, source, target_fs, target, True,
                                                          sc._jsc.hadoopConfiguration()):
            raise TaskFailed(f"could not move {scratch} to {directory}")
    target_fs.create(sc._jvm.org.apache.hadoop.fs.Path(target, "_SUCCESS")).close()


def delete(sc, name):
    path, fs = hadoop_path(sc, name)
    fs.delete(path, True)


# ---- The Python data path ------------------------------------------------------------------------

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
    """A mapPartitionsWithIndex function over the lines of file `ordinal`: line `n` of split `split`
    -> ((asset, ordinal, split, n), line). Splits cover a file in order, so (split, n) orders its
    lines as their line numbers do; the first line of the first split is the header."""

    def key(split, lines):
        # Empty lines are skipped by meterflow's CSV reader; dropping them keeps records and lines one to one.
        rows = [(n, line) for n, line in enumerate(lines) if line != "" and (split, n) != (0, 0)]
        for _, line in rows:
            if "\ufffd" in line:
                # Hadoop's Text gave U+FFFD for bytes that are not UTF-8: the row would not be the file's.
                raise RuntimeError(f"{FAILURE_MARK}: a line is not UTF-8 (or holds U+FFFD), and the Python data path "
                                   f"would change its bytes: {line[:200]}")
        if not rows:
            return
        proc = subprocess.Popen([binary_path(binary), "partition-keys", *on_executor(flags)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = []
        err_thread = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
        err_thread.start()
        writer = pump([header] + [line for _, line in rows], proc.stdin)
        k = 0
        for out in proc.stdout:
            number, asset = out.rstrip(b"\n").split(b"\t", 1)
            if k >= len(rows) or int(number) != k + 2:
                proc.kill()
                raise RuntimeError(f"{FAILURE_MARK}: partition-keys answered line {int(number)} for line {k + 2}")
            n, line = rows[k]
            yield (asset.decode("utf-8", "surrogateescape"), ordinal, split, n), line
            k += 1
        writer.join()
        err_thread.join()
        code = proc.wait()
        if code != 0:
            fail("meterflow partition-keys", code, err[0])
        if k != len(rows):
            raise RuntimeError(f"{FAILURE_MARK}: partition-keys answered {k} of {len(rows)} lines")

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
                for (_, ordinal, *_), line in all_rows():
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


def run_python(sc, plan):
    """The Python data path: writes the outputs and returns each partition's figures (JSON texts)."""
    from pyspark import StorageLevel

    # textFile, unlike newAPIHadoopFile, starts no Spark job (that one reads a record of each file).
    readers = [sc.textFile(hadoop_input(f.name), minPartitions=1) for f in plan.files]
    job_texts = []
    for path in plan.jobs:
        with open(path, encoding="utf-8") as f:
            job_texts.append((os.path.basename(path), f.read()))
    headers = [f.header for f in plan.files]
    keyed = sc.union([rdd.mapPartitionsWithIndex(keyed_lines(k, headers[k], plan.binary, plan.in_flags))
                      for k, rdd in enumerate(readers)])
    by_asset = keyed.repartitionAndSortWithinPartitions(
        numPartitions=plan.partitions,
        partitionFunc=lambda key: zlib.crc32(key[0].encode("utf-8", "surrogateescape")),
        keyfunc=lambda key: key[1:])
    results = by_asset.mapPartitionsWithIndex(run_partitions(plan.binary, job_texts, headers,
                                                             plan.flags + plan.in_flags),
                                              preservesPartitioning=True)
    results.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        parts = results.filter(lambda r: r[0] == "S").map(lambda r: r[1]).collect()
        for kind, directory, header in (("P", plan.output, plan.points_header),
                                        ("L", plan.late_output, plan.late_header)):
            if directory is not None:
                (results.filter(lambda r, kind=kind: r[0] == kind).map(lambda r: r[1])
                 .mapPartitions(with_header(header)).saveAsTextFile(directory))
    except Exception as e:
        java = getattr(e, "java_exception", None)
        message = task_failure(e) or (task_failure(java) if java is not None else None)
        if message is None:
            raise
        raise TaskFailed(message) from None
    finally:
        results.unpersist()
    return parts


def task_failure(error):
    """Our task's message out of Spark's error text, or None."""
    text = str(error)
    at = text.find(FAILURE_MARK)
    if at < 0:
        return None
    end = text.find("\n\tat ", at)
    return text[at + len(FAILURE_MARK) + 2:end if end > 0 else None].strip()


def with_header(header):
    def add(rows):
        yield header
        yield from rows

    return add


# ---- Figures and the application ---------------------------------------------------------------

def duration_seconds(text):
    """Seconds in a duration as meterflow writes it (`1d2h30m`, `45s`, `250ms`)."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)", text))


def add_figures(total, part):
    """Adds one partition's figures to the total: counts add up, watermarks take the latest, flags
    must hold everywhere, lists of jobs, policies and balances add element by element, samples gather."""
    if part is None:
        return total
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
            elif k == "oldest_age":
                out[k] = max(out[k], v, key=duration_seconds) if v is not None else out[k]
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


def summary(figures, inputs, partitions, path):
    i = figures["input"]
    lines = [f"meterflow-spark: {i['rows']} rows read from {inputs} input{'s' if inputs != 1 else ''} in "
             f"{partitions} partitions on the {path} data path ({i['missing_values']} missing values skipped, "
             f"{i['rejected']} bad rows "
             f"skipped, {i['rows_of_unread_points']} rows of points or models no job reads)"]
    for job in figures["jobs"]:
        lines.append(f"  {job['name']}: {job['rows_read']} rows read, {job['kept']} kept, {job['late_dropped']} "
                     f"late dropped, {job['rows_written']} rows written, final watermark {job['final_watermark']}")
    return "\n".join(lines) + "\n"


class Plan:
    """What both data paths need: the inputs, jobs, flags, shipped binary and outputs."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


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
    plan = Plan(files=files, jobs=jobs, flags=flags, in_flags=in_flags, keying=keying,
                binary=os.path.basename(args.binary), partitions=args.partitions or sc.defaultParallelism,
                output=args.output, late_output=args.late_output, points_header=points_header,
                late_header=late_header)
    path = args.data_path
    parts = None
    if path != "python":
        reason = refusal_up_front(files, keying)
        if reason is None:
            try:
                parts = run_jvm(sc, plan)
            except Refused as e:
                reason = str(e)
        if reason is not None:
            if path == "jvm":
                raise TaskFailed(f"the JVM data path cannot take this input ({reason}); "
                                 "--data-path auto or python would run the Python data path")
            sys.stderr.write(f"meterflow-spark: the JVM data path cannot take this input ({reason}); "
                             "running the Python data path instead\n")
            path = "python"
    if parts is None:
        parts = run_python(sc, plan)
    for part in parts:
        figures = add_figures(figures, json.loads(part))
    figures = recheck_balances(figures)
    if not args.quiet:
        sys.stderr.write(summary(figures, len(files), plan.partitions, "Python" if path == "python" else "JVM"))
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
