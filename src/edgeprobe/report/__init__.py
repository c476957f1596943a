"""Reporters: each turns one typed run result (docs/run-result.md) into text.

They share one interface, ``render(run) -> str``, so a saved run re-renders exactly as the
live one did (``edgeprobe report RUN.json``); ``chunks(run)`` gives the same text in pieces,
for writing it as it is made (one piece, unless a format overrides it: the JSON, the one
output that grows with every check). Each is imported only when asked for: the HTML
one brings jinja2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import import_module
from typing import Any, Protocol

from edgeprobe.result.types import RunResult


class Reporter(Protocol):
    """What every reporter is; each subclasses it for ``chunks``'s default."""

    name: str

    def render(self, run: RunResult) -> str: ...

    def chunks(self, run: RunResult) -> Iterable[str]:
        """``render``'s text in pieces, in order."""
        return (self.render(run),)


#: format name → (module, class); the one list of formats
REPORTERS = {
    "json": ("edgeprobe.report.json_report", "JsonReporter"),
    "html": ("edgeprobe.report.html", "HtmlReporter"),
    "markdown": ("edgeprobe.report.markdown", "MarkdownReporter"),
    "terminal": ("edgeprobe.report.terminal", "TerminalReporter"),
}


def reporter(name: str, **options: Any) -> Reporter:
    """The reporter for ``json``, ``html``, ``markdown`` or ``terminal``; ``options`` go to
    the reporters that take any (markdown, terminal)."""
    if name not in REPORTERS:
        raise ValueError(f"no reporter named {name!r}")
    module, cls = REPORTERS[name]
    made: Reporter = getattr(import_module(module), cls)(**options)
    return made


def render(run: RunResult, fmt: str, **options: Any) -> str:
    """A run result as ``json``, ``html``, ``markdown`` or ``terminal`` text."""
    return reporter(fmt, **options).render(run)


def write(run: RunResult, outputs: Mapping[str, str | None]) -> list[str]:
    """Render and atomically write each requested file (``{"html": path, …}``); ``-`` for the
    JSON means stdout. Returns the paths written. Each is written in its reporter's pieces:
    the JSON as it is encoded, never held whole (json_report.py)."""
    import sys

    from edgeprobe.fileio import atomic_write

    written = []
    for name, path in outputs.items():
        if not path:
            continue
        pieces = reporter(name).chunks(run)
        if path == "-":
            for piece in pieces:
                sys.stdout.write(piece)
            sys.stdout.flush()
        else:
            atomic_write(path, pieces)
            written.append(path)
    return written
