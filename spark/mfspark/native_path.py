"""The native data path (the default): a SparkContext and the Java class in spark/native/, no
Spark SQL and no Python on the executors.

Each file is read with Hadoop's TextInputFormat, whose key, a line's byte offset, is with the
file's ordinal an exact position in file order; the line at offset 0 (the header) and empty lines
are dropped. The asset's field is found by a byte scan that splits fields as the csv crate does
and hashed to a partition; lines are packed per partition into blocks of about 64 KiB keyed by the
first line's position, sorted within partitions by key, and each partition is piped, its header
first, into one `meterflow run`, whose part files are written through Hadoop's file system. The
jar is compiled and passed by spark/submit (spark/native/build); see NativePath.java.
"""

import json
import os
import shutil

from .common import FAILURE_MARK, REFUSAL_MARK, SHIPPED, Refused, marked_errors
from .inputs import hadoop_input
from .results import hadoop_path, run_space, settle

# The class the path runs; spark/native/build compiles it.
NATIVE_CLASS = "meterflow.spark.NativePath"
# A file's bytes fit in the 39 bits of a position below the file's ordinal.
MAX_BYTES = 1 << 39


def native_class(sc):
    """The Java class, or None when it is not on the application's class path."""
    try:
        loader = sc._jvm.java.lang.Thread.currentThread().getContextClassLoader()
        return sc._jvm.java.lang.Class.forName(NATIVE_CLASS, True, loader) and getattr(sc._jvm, NATIVE_CLASS)
    except Exception:
        return None


def refusal_up_front(sc, plan):
    """Why the native path cannot take the plan's inputs, found before any Spark work; None when it can."""
    if native_class(sc) is None:
        return (f"its class {NATIVE_CLASS} is not on the class path: spark/submit compiles spark/native/ with "
                "javac, from a JDK, and passes the jar with --jars")
    path = sc._jvm.meterflow.spark.NativePath
    if len(plan.files) > path.MAX_FILES or plan.partitions > path.MAX_PARTITIONS:
        return f"over {path.MAX_FILES} input files or {path.MAX_PARTITIONS} partitions"
    for f in plan.files:
        if f.size >= MAX_BYTES:
            return f"{f.name} is over 2^39 bytes"
    for delimiter, _ in plan.keying.values():
        if delimiter in b'"\n\r':
            return f"the delimiter byte {delimiter} is a quote or a line end"
    return None


def run_native(sc, plan):
    """The native data path: writes the outputs and returns each partition's figures (JSON texts)."""
    gateway = sc._gateway
    jvm = sc._jvm

    def array(kind, values):
        out = gateway.new_array(kind, len(values))
        for k, v in enumerate(values):
            out[k] = v
        return out

    with run_space(sc, plan) as space:
        token, headers, classes, stage, scratch = space.token, space.headers, space.classes, space.stage, space.scratch
        # The jobs, shipped under names of their own (their names kept on the executors, as
        # meterflow reports them); the binary and the input config are shipped by `run`.
        shipped = []
        for k, job in enumerate(plan.jobs):
            name = f"mf-{token}-job{k}"
            shutil.copyfile(job, os.path.join(stage, name))
            sc.addFile(os.path.join(stage, name))
            shipped.append(name)
        base, fs = hadoop_path(sc, scratch)
        base = fs.makeQualified(base)
        points, late = str(jvm.org.apache.hadoop.fs.Path(base, "P")), str(jvm.org.apache.hadoop.fs.Path(base, "L"))
        fs.mkdirs(jvm.org.apache.hadoop.fs.Path(points))
        if plan.late_output is not None:
            fs.mkdirs(jvm.org.apache.hadoop.fs.Path(late))
        String, Int = gateway.jvm.java.lang.String, gateway.jvm.int
        keying = [plan.keying[h] for h in headers]
        with marked_errors():
            results = jvm.meterflow.spark.NativePath.run(
                sc._jsc, array(String, [hadoop_input(f.name) for f in plan.files]),
                array(Int, [classes[f.header] for f in plan.files]), array(String, headers),
                array(Int, [d for d, _ in keying]),
                array(Int, [where if kind == "column" else -1 for _, (kind, where) in keying]),
                array(String, [where if kind == "constant" else None for _, (kind, where) in keying]),
                plan.partitions, plan.binary, array(String, shipped),
                array(String, [os.path.basename(j) for j in plan.jobs]), array(String, plan.in_flags + plan.flags),
                SHIPPED, points, late if plan.late_output is not None else None, FAILURE_MARK, REFUSAL_MARK)
        parts = []
        for result in results:
            index, lines, headers, figures = str(result).split("\t", 3)
            # meterflow takes a line equal to the header for a repeated header, not a row.
            rows = json.loads(figures)["input"]["rows"]
            if rows != int(lines) - int(headers):
                raise Refused(f"meterflow read {rows} rows of the {lines} lines of partition {index}, {headers} of "
                              "them equal to the header")
            parts.append(figures)
        for directory, source, header in ((plan.output, points, plan.points_header),
                                          (plan.late_output, late, plan.late_header)):
            if directory is not None:
                settle(sc, source, directory, header)
        return parts
