"""The Python data path (the fallback, for what the JVM path refuses): lines read with
`SparkContext.textFile`, every line's asset from `meterflow partition-keys`, rows partitioned and
sorted in Python and each partition piped into `meterflow run` from a Python worker. Its functions
run on the executors, which import this package: `run_python` ships it (`SparkContext.addPyFile`)."""

import atexit
import os
import shutil
import subprocess
import tempfile
import threading
import zipfile
import zlib

from .common import FAILURE_MARK, SHIPPED, TaskFailed
from .inputs import hadoop_input

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


# The SparkContext this package was shipped to: SparkContext.addPyFile takes a name once.
_shipped_to = None


def ship_package(sc):
    """Ships this package to the executors as a zip (`SparkContext.addPyFile`): the functions the
    Python workers run are pickled by reference to its modules. Once per context."""
    global _shipped_to
    if _shipped_to is sc:
        return
    here = os.path.dirname(os.path.abspath(__file__))
    stage = tempfile.mkdtemp(prefix="meterflow-spark-")
    atexit.register(shutil.rmtree, stage, True)
    archive = os.path.join(stage, "mfspark.zip")
    with zipfile.ZipFile(archive, "w") as z:
        for name in sorted(os.listdir(here)):
            if name.endswith(".py"):
                z.write(os.path.join(here, name), f"mfspark/{name}")
    sc.addPyFile(archive)
    _shipped_to = sc


def run_python(sc, plan):
    """The Python data path: writes the outputs and returns each partition's figures (JSON texts)."""
    from pyspark import StorageLevel

    ship_package(sc)
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
