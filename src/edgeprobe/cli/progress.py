"""A live progress line on stderr while probing, only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class ProgressLine:
    """``probing 6 nodes: 40/78 checks, 2 failing`` redrawn at most 10 times a second."""

    def __init__(self, nodes: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.nodes = nodes
        self.failed = 0
        self._last = 0.0

    def __call__(self, done: int, total: int, result: Any) -> None:
        if result is not None and (result.error_kind or (result.status_code or 0) >= 400):
            self.failed += 1
        now = time.monotonic()
        if not self.enabled or (done < total and now - self._last < 0.1):
            return
        self._last = now
        self.stream.write(f"\r\033[2Kprobing {self.nodes} nodes: {done}/{total} checks"
                          + (f", {self.failed} not 2xx" if self.failed else ""))
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[2K")
            self.stream.flush()
