"""Runs a command and prints the wall time and the CPU time of its whole process tree (Linux).

/usr/bin/time reports what the kernel adds up as children are reaped, and that misses two kinds of
process: orphans (reaped by init) and the children of a process that ignores SIGCHLD (PySpark's
worker daemon does), whose usage the kernel discards. This script makes itself a child subreaper,
so orphans are re-parented to it and reaped here, and it samples /proc every 0.1 s for the
processes whose parent ignores SIGCHLD, adding the CPU time each had used (with its own reaped
children) when last seen: short of the exact figure by what such a process used in its last tenth
of a second.

usage: python3 bench/tree_time.py OUT_FILE COMMAND [ARGS...]
  OUT_FILE gets one line: `wall_s user_s sys_s exit_status`, where user_s includes the sampled
  CPU time (user and system) of the processes above; the command's output passes through.
"""

import ctypes
import os
import resource
import signal
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36
TICK = os.sysconf("SC_CLK_TCK")


def read_stat(pid):
    """(parent pid, start time, CPU seconds of the process and its reaped children) or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), fields[19], sum(int(x) for x in fields[11:15]) / TICK


def ignores_sigchld(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("SigIgn:"):
                    return bool(int(line.split()[1], 16) >> (signal.SIGCHLD - 1) & 1)
    except OSError:
        pass
    return False


def sample(root, lost, done):
    """Records the CPU time of every descendant of `root` whose parent ignores SIGCHLD."""
    while not done.wait(0.1):
        stats = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                stat = read_stat(int(name))
                if stat is not None:
                    stats[int(name)] = stat
        tree, grew = {root}, True
        while grew:
            grew = False
            for pid, (parent, _, _) in stats.items():
                if parent in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        for pid in tree - {root}:
            parent, start, cpu = stats[pid]
            if ignores_sigchld(parent):
                lost[(pid, start)] = max(cpu, lost.get((pid, start), 0.0))


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"tree_time.py: prctl(PR_SET_CHILD_SUBREAPER) failed: errno {ctypes.get_errno()}")
    start = time.monotonic()
    child = subprocess.Popen(cmd)
    lost, done = {}, threading.Event()
    sampler = threading.Thread(target=sample, args=(os.getpid(), lost, done), daemon=True)
    sampler.start()
    status = None
    # Reap the command, then every orphan left behind, until no child remains.
    while True:
        try:
            pid, raw = os.wait()
        except ChildProcessError:
            break
        if pid == child.pid:
            status = os.waitstatus_to_exitcode(raw)
            child.returncode = status
    wall = time.monotonic() - start
    done.set()
    sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"{wall:.3f} {usage.ru_utime + sum(lost.values()):.3f} {usage.ru_stime:.3f} {status}\n")
    sys.exit(status)


if __name__ == "__main__":
    main()
