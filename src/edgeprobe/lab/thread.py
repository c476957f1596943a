"""The lab on its own event loop in a background thread, for blocking callers (the CLI,
sync tests)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from edgeprobe.lab.fleet import Lab, LabOptions


class LabThread:
    """The lab on its own event loop in a background thread, for blocking callers (the CLI,
    sync tests). ``call(coro)`` runs a coroutine on the lab's loop and waits for it."""

    def __init__(self, options: LabOptions | None = None) -> None:
        self.lab = Lab(options)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="edgeprobe-lab",
                                        daemon=True)

    def start(self) -> Lab:
        self._thread.start()
        try:
            self.call(self.lab.start(), timeout=60)
        except BaseException:
            self.stop()
            raise
        return self.lab

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.call(self.lab.stop(), timeout=15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)


@contextlib.contextmanager
def running_lab(options: LabOptions | None = None) -> Iterator[LabThread]:
    thread = LabThread(options)
    thread.start()
    try:
        yield thread
    finally:
        thread.stop()
