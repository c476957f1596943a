"""Blocking work off the event loop, in daemon threads that never hold up exit.

asyncio's default executor joins its threads when the loop closes, so one boto3 call or
libcurl loop stuck on a dripping server would hold the process, and a Ctrl-C, forever.
Here each call gets its own daemon thread, and the loop waits at most ``deadline`` seconds
(None: as long as it takes); a call past its deadline is abandoned and dies with the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def call(fn: Callable[..., T], *args: Any, deadline: float | None) -> T:
    """``fn(*args)`` in a daemon thread; TimeoutError after ``deadline`` seconds."""
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
        # the loop is gone when the run was interrupted (Ctrl-C) or gave up on this call
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name="edgeprobe-worker", daemon=True).start()
    return await asyncio.wait_for(future, deadline)
