"""Collecting the results on the driver: part files read and moved into place through Hadoop's
file system API, and the partitions' figures added up into the run's figures and summary."""

import contextlib
import re
import shutil
import tempfile
import uuid
from types import SimpleNamespace

from .common import TaskFailed


@contextlib.contextmanager
def run_space(sc, plan):
    """What one run of a data path works in: a token naming its shipped files, the input headers
    in first-seen order with each one's class, a local folder staging the files it ships, and a
    scratch folder beside the output for the part files; both folders removed however it ends."""
    token = uuid.uuid4().hex[:12]
    headers = list(dict.fromkeys(f.header for f in plan.files))
    stage = tempfile.mkdtemp(prefix="meterflow-spark-")
    scratch = f"{plan.output.rstrip('/')}.meterflow-{token}"
    try:
        yield SimpleNamespace(token=token, headers=headers, classes={h: c for c, h in enumerate(headers)},
                              stage=stage, scratch=scratch)
    finally:
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
