"""The JVM data path (Spark SQL; `--data-path sql`): every row stays in the JVM until it is piped
into meterflow.

Each line of the input is read by a Spark SQL text scan and given a position that is fixed at read
time: the file's place in the input, the split's start (`_metadata.file_block_start`) and
`monotonically_increasing_id()`, which increases in line order within a split. Lines equal to a
header and empty lines are dropped (a count proves no other line was). The key, a function of the
asset that meterflow will find in the row, is computed with SQL string functions from where
`partition-keys --describe` says the asset is. Rows are repartitioned by key and sorted by
position, and each partition goes through one `meterflow run` by Spark's script transformation,
which prints the points, late rows and figures tagged on stdout.
"""

import json
import os
import shlex

from .common import FAILURE_MARK, REFUSAL_MARK, SHIPPED, Refused, marked_errors
from .inputs import glob_escaped
from .results import read_lines, run_space, settle

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


def refusal_up_front(sc, plan):
    """Why the JVM path cannot take the plan's inputs, found before any Spark work; None when it can."""
    names = [f.name for f in plan.files]
    for name in names:
        if names.count(name) > 1:
            return f"{name} is given twice, and Spark SQL reads a file once"
    from pyspark.sql import functions as F

    if not hasattr(F, "is_valid_utf8"):
        return "this Spark has no is_valid_utf8 (Spark 4.0 and later have)"
    for delimiter, _ in plan.keying.values():
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


def run_jvm(sc, plan):
    """The JVM data path: writes the outputs and returns each partition's figures (JSON texts)."""
    from pyspark import SparkFiles
    from pyspark.sql import Observation, SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.utils import AnalysisException

    spark = SparkSession.builder.getOrCreate()
    # Adaptive execution would coalesce the asset partitions and re-plan the sort; this plan is fixed.
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    # Each partition arrives as a few runs already in position order (a map task's rows for it, in
    # the order read), which Spark's TimSort merges; its radix sort makes four or five passes over
    # every row's prefix whatever the order, and reserves twice the pointer array (bench/RESULTS.md).
    spark.conf.set("spark.sql.sort.enableRadixSort", "false")
    with run_space(sc, plan) as space:
        token, headers, classes, stage, scratch = space.token, space.headers, space.classes, space.stage, space.scratch
        names = {"job": f"mf-{token}-job", "header": f"mf-{token}-header", "script": f"mf-{token}.sh"}
        view = f"meterflow_rows_{token}"
        try:
            # The shipped files: the jobs (their names kept, as meterflow reports them), each header
            # class's header and the script; the binary and the input config are shipped by `run` in
            # meterflow_spark.py.
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
                              failure(REFUSAL_MARK, "Spark SQL named an input file unlike its listing: ",
                                      F.col("file")))
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
            with marked_errors():
                tagged.write.partitionBy("tag").text(scratch)
            parts = read_lines(sc, f"{scratch}/tag=S")
            counts = seen.get
            if counts["headers"] != len(plan.files):
                raise Refused(f"{counts['headers']} lines equal to a header in {len(plan.files)} files: a data line "
                              "equal to its file's header (a repeated header), or a file Spark SQL did not read")
            fed = sum(json.loads(p)["input"]["rows"] for p in parts)
            if fed != counts["rows"]:
                raise Refused(f"meterflow read {fed} rows of the {counts['rows']} data lines Spark SQL read")
            for tag, directory, header in (("P", plan.output, plan.points_header),
                                           ("L", plan.late_output, plan.late_header)):
                if directory is not None:
                    settle(sc, f"{scratch}/tag={tag}", directory, header)
            return parts
        finally:
            spark.catalog.dropTempView(view)
