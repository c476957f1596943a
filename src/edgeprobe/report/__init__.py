"""Reporters: each turns one run-result dict (docs/run-result.md) into text.

They share one interface, ``render(run) -> str``, so a saved run re-renders exactly as the
live one did (``edgeprobe report RUN.json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from edgeprobe.run_types import RunResult

Run = RunResult


class Reporter(Protocol):
    name: str

    def render(self, run: Run) -> str: ...


def verdict(run: Run) -> str:
    """The run's health word (healthy / degraded / failing), for banners and titles, as the
    analysis wrote it (run_result.build, load and parse always set it)."""
    return str(run.health)


def reporter(name: str, **options: Any) -> Reporter:
    """The reporter for ``json``, ``html``, ``markdown`` or ``terminal`` (imported lazily)."""
    if name == "json":
        from edgeprobe.report.json_report import JsonReporter
        return JsonReporter()
    if name == "html":
        from edgeprobe.report.html import HtmlReporter
        return HtmlReporter()
    if name == "markdown":
        from edgeprobe.report.markdown import MarkdownReporter
        return MarkdownReporter(**options)
    if name == "terminal":
        from edgeprobe.report.terminal import TerminalReporter
        return TerminalReporter(**options)
    raise ValueError(f"no reporter named {name!r}")


def write(run: Run, outputs: Mapping[str, str | None]) -> list[str]:
    """Render and atomically write each requested file (``{"html": path, …}``); ``-`` for the
    JSON means stdout. Returns the paths written."""
    import sys

    from edgeprobe.fileio import atomic_write

    written = []
    for name, path in outputs.items():
        if not path:
            continue
        text = reporter(name).render(run)
        if path == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            atomic_write(path, text)
            written.append(path)
    return written
