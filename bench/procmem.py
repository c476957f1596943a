"""A process's memory as Linux's /proc/PID/status tells it, in MiB: one reader for every
benchmark script (run.py, stages.py, blackbox.py, soak.py)."""

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
