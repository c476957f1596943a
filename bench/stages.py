"""Where a whole `edgeprobe probe …` run's wall time goes, stage by stage.

    python bench/stages.py probe all -c bench.toml --json run.json -q --fail-on never

Runs the CLI in this process with each stage's function wrapped to note when it started
and ended (seconds since this interpreter started, so the imports before the first stage
count), then prints one line per stage. A measuring tool, not a test: nothing is
changed but the clock readings. Stages that overlap (the bucket check and the fetch) show
as overlapping; what runs between stages (the event loop, progress) is the gaps.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from procmem import status_mib  # bench/ is this script's directory

START = time.monotonic()
try:  # the interpreter's own start, from /proc: its start-up counts too
    _ticks = int(Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19])
    _boot = float(Path("/proc/uptime").read_text().split()[0])
    START -= max(0.0, _boot - _ticks / os.sysconf("SC_CLK_TCK"))
except (OSError, ValueError, IndexError):
    pass

SPANS: list[tuple[str, float, float, float, float]] = []


# (module, attribute, stage name): each looked up where the pipeline looks it up
STAGES = [
    ("edgeprobe.observe.resolve", "resolve_all", "resolve"),
    ("edgeprobe.observe.sample", "build_sample", "sample"),
    ("edgeprobe.observe.origin", "check_origin", "bucket check"),
    ("edgeprobe.observe.canary", "reference", "canary: the bucket's answer"),
    ("edgeprobe.observe.fetch", "fetch_each", "fetch (+ canary keys, browser checks)"),
    ("edgeprobe.observe.followup", "browser_checks", "browser checks left after it"),
    ("edgeprobe.pipeline.run", "analyze", "analyze"),
    ("edgeprobe.pipeline.retest", "confirm", "re-test"),
    ("edgeprobe.result.build", "build", "build the run result"),
    ("edgeprobe.report", "write", "JSON: encoded and written"),
]


def _wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            began, rss = time.monotonic(), status_mib("VmRSS")
            try:
                return await fn(*args, **kwargs)
            finally:
                SPANS.append((name, began - START, time.monotonic() - START, rss,
                              status_mib("VmRSS")))
        return timed_async

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        began, rss = time.monotonic(), status_mib("VmRSS")
        try:
            return fn(*args, **kwargs)
        finally:
            SPANS.append((name, began - START, time.monotonic() - START, rss,
                          status_mib("VmRSS")))
    return timed


def main() -> None:
    for module, attr, name in STAGES:
        mod = importlib.import_module(module)
        setattr(mod, attr, _wrap(name, getattr(mod, attr)))
    from edgeprobe.cli import main as cli

    imported = time.monotonic() - START  # what the run would import as it goes, at once
    imported_rss = status_mib("VmRSS")

    sys.argv = ["edgeprobe", *sys.argv[1:]]
    try:
        cli(standalone_mode=False)
    finally:
        end = time.monotonic() - START
        print(f"{'stage':30} {'from s':>7} {'to s':>7} {'took s':>7} {'RSS MiB from':>13} "
              f"{'to':>6}")
        print(f"{'interpreter + imports':30} {0:7.2f} {imported:7.2f} {imported:7.2f} "
              f"{'':>13} {imported_rss:6.1f}")
        for name, began, ended, rss_from, rss_to in sorted(SPANS, key=lambda s: s[1]):
            print(f"{name:30} {began:7.2f} {ended:7.2f} {ended - began:7.2f} {rss_from:13.1f} "
                  f"{rss_to:6.1f}")
        # not ru_maxrss: in runs that start a worker it read ~40 MiB over VmHWM (the
        # kernel's accounting of the fork that becomes the worker)
        peak = status_mib("VmHWM")
        print(f"{'whole run (to exit)':30} {0:7.2f} {end:7.2f} {end:7.2f} {'peak':>13} "
              f"{peak:6.1f}")


if __name__ == "__main__":
    main()
