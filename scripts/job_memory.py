#!/usr/bin/env python3
"""Peak resident memory of a whole job: a command and every process it starts.

    scripts/job_memory.py [--out FILE] COMMAND [ARGS...]

Runs COMMAND, samples the process tree under it every few milliseconds and, when it
ends, prints "job_peak_mb N" (to FILE, else stderr): the sum over every process that
took part (mpirun, its daemons, every rank) of its own peak resident set (VmHWM in
/proc/PID/status, which the kernel keeps as a high-water mark, so a sample at any time
after the peak sees it). Summing per-process peaks counts each process at its worst,
even when the peaks did not coincide: an upper bound of what the job held at once.
Shared library pages count once per process, as the kernel's RSS counts them.
Exits with COMMAND's status.
"""
import os
import subprocess
import sys
import time


def children_of():
    """parent pid -> [child pids] over the whole machine."""
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree(root):
    kids, out, todo = children_of(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    args = sys.argv[1:]
    out = None
    if len(args) >= 2 and args[0] == "--out":
        out, args = args[1], args[2:]
    if not args:
        sys.exit(__doc__)
    proc = subprocess.Popen(args)
    peak = {}  # (pid, start marker) -> kB; pids are not reused within one short job
    while proc.poll() is None:
        for pid in tree(proc.pid):
            kb = hwm_kb(pid)
            if kb is not None:
                peak[pid] = max(peak.get(pid, 0), kb)
        time.sleep(0.005)
    line = "job_peak_mb %.1f processes %d\n" % (sum(peak.values()) / 1024.0, len(peak))
    if out:
        with open(out, "w") as f:
            f.write(line)
    else:
        sys.stderr.write(line)
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
