"""What every part of the Spark runner shares: exit statuses, the errors that end a run, the marks
that pick the runner's own errors out of Spark's wrapping and the picking, the plan both data
paths follow, and the spelling of a shipped file in a flag."""

import contextlib

EXIT_RUN, EXIT_USAGE = 1, 2
# Marks the runner's own task errors, so the driver can pick them out of Spark's wrapping.
FAILURE_MARK = "meterflow-spark task failure"
# Marks what the JVM data path cannot take as one run would, raised from inside its Spark jobs.
REFUSAL_MARK = "meterflow-spark refusal"
# A flag value naming a file shipped with SparkContext.addFile, resolved on the executor that runs.
SHIPPED = "spark-file:"


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
    """A data path cannot take this input as one run would; the message says why."""


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


@contextlib.contextmanager
def marked_errors():
    """Raises an error from the Spark work inside as the runner's Refused or TaskFailed, its message
    alone, when it carries one of the runner's marks (spark_error); any other error as it is."""
    try:
        yield
    except Exception as e:
        mine = spark_error(e)
        if mine is None:
            raise
        raise mine from None


class Plan:
    """What both data paths need: the inputs, jobs, flags, shipped binary and outputs."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

