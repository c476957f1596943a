"""A process's memory as Linux's /proc tells it, in MiB: one reader for every benchmark
script (run.py, stages.py, blackbox.py, soak.py)."""

from __future__ import annotations

from pathlib import Path


def status_mib(field: str, pid: int | str = "self") -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (the process's own peak) of ``pid``, in MiB;
    0 where /proc is not, or the process has just exited."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def pss_mib(pid: int | str = "self") -> float:
    """``pid``'s proportional set size (/proc/PID/smaps_rollup), in MiB: its private pages
    plus its share of each page it shares (a library both edgeprobe's processes map counts
    half in each), so summed over processes it is what they cost the machine, where summed
    RSS counts shared pages once per process. ~0.4 ms to read at 100 MiB (Linux walks the
    page tables): read it seldom. 0 where it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0
