"""Blocking work off the event loop, in daemon threads that never hold up exit.

asyncio's default executor joins its threads when the loop closes, so one boto3 call or
libcurl loop stuck on a dripping server would hold the process, and a Ctrl-C, forever.
Here each call gets its own daemon thread, and the loop waits at most ``deadline`` seconds
(None: as long as it takes); a call past its deadline is abandoned and dies with the process.

A long-lived process (``serve``) must not pile abandoned threads up run after run: a call
given a ``lane`` (its purpose: "head_bucket my-bucket") is refused at once, as a
TimeoutError, while the lane's previous call has not returned — a stuck call is a finding
each run, not a new stuck thread each run.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_busy: set[str] = set()  # lanes whose call has not returned (across runs and event loops)
_busy_lock = threading.Lock()


def busy() -> frozenset[str]:
    """The lanes with a call outstanding (for tests and the server's own metrics)."""
    with _busy_lock:
        return frozenset(_busy)


async def call(fn: Callable[..., T], *args: Any, deadline: float | None,
               lane: str | None = None) -> T:
    """``fn(*args)`` in a daemon thread; TimeoutError after ``deadline`` seconds, or at once
    while ``lane``'s previous call is still outstanding."""
    if lane is not None:
        with _busy_lock:
            if lane in _busy:
                raise TimeoutError(f"{lane}: the previous call has not returned yet")
            _busy.add(lane)
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def work() -> None:
        try:
            outcome: tuple[bool, Any] = (True, fn(*args))
        except BaseException as exc:  # handed to the waiting coroutine, not lost
            outcome = (False, exc)
        finally:
            if lane is not None:
                with _busy_lock:
                    _busy.discard(lane)
        # the loop is gone when the run was interrupted (Ctrl-C) or gave up on this call
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name="edgeprobe-worker", daemon=True).start()
    return await asyncio.wait_for(future, deadline)
