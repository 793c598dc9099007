"""The driver's steps before any Spark job, common to both data paths: the input files listed,
each file's header read on the driver (no Spark job, whatever the number of files), the job files
and flags checked by one `meterflow run` over the header, and meterflow asked once per distinct
header where a row's asset is (`meterflow partition-keys --describe`)."""

import json
import os
import subprocess
import tempfile

from .common import Stop, UsageError

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


def glob_escaped(name):
    """A file name as a path Spark SQL does not expand as a glob."""
    return "".join("\\" + c if c in "\\*?[]{}" else c for c in name)


def hadoop_input(name):
    """A file name as a Hadoop input path, which is also cut at commas outside braces."""
    return glob_escaped(name).replace(",", "{\\,}")
