"""What every part of the Spark runner shares: exit statuses, the errors that end a run, the marks
that pick the runner's own errors out of Spark's wrapping, the plan both data paths follow, and
the spelling of a shipped file in a flag."""

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



class Plan:
    """What both data paths need: the inputs, jobs, flags, shipped binary and outputs."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

