"""The fetch in worker processes: each runs engine.Engine over its share of the nodes with
its own interpreter, beside the probing process's own engine thread with the first share,
so the per-chunk work (libcurl's write callback, MD5) of one process never waits for the
GIL of another (docs/performance.md).

Parent → child, on stdin: one pickle of (site, probe, cainfo, transfers, then: the
engine.Then that makes each node's browser checks, or None). Child → parent,
on stdout: frames (4-byte length, then a pickle of [(index, FetchResult), ...]), sent every
BATCH results or FLUSH_S seconds, whichever comes first, so progress stays live. Both ends
are this package's own code in processes the parent started, never a peer's bytes: what an
edge sent is inside the FetchResults as plain strings and numbers, as in a thread.

The child ignores SIGINT (the parent, which a Ctrl-C reaches too, kills it) and exits quietly
when the parent goes away (a closed pipe). A child that dies leaves its transfers without a
result; the caller runs those again in its own engine (observe/fetch.py).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from edgeprobe.config.settings import ProbeSettings, SiteSettings
from edgeprobe.observe.engine import Done, Engine, Then
from edgeprobe.observe.observations import FetchResult
from edgeprobe.observe.transfer import Transfer

if TYPE_CHECKING:  # the parent's side only: the child starts without asyncio
    import asyncio

FRAME = struct.Struct("!I")
BATCH = 64  # results per frame at most
FLUSH_S = 0.05  # the longest a finished result waits in the child before it is sent


async def run(site: SiteSettings, probe: ProbeSettings, groups: Sequence[Sequence[Transfer]],
              cainfo: str | None, done: Done, then: Then | None = None) -> None:
    """Each group in its own worker process; ``done`` on the event loop for each result.
    Returns when every child has exited (a dead child's transfers simply have no result);
    a cancelled run kills the children."""
    import asyncio

    children: list[asyncio.subprocess.Process] = []
    try:
        for group in groups:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "edgeprobe.observe.worker", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=None, env=_environment())
            children.append(child)
            assert child.stdin is not None
            child.stdin.write(pickle.dumps((site, probe, cainfo, list(group), then),
                                           pickle.HIGHEST_PROTOCOL))
            child.stdin.close()
        await asyncio.gather(*(_read(child, done) for child in children))
    finally:
        for child in children:
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                await child.wait()


def _environment() -> dict[str, str]:
    """This process's environment, with the directory this edgeprobe was imported from
    first on PYTHONPATH: the child runs the same code, however the parent found it."""
    import edgeprobe

    home = os.path.dirname(os.path.dirname(os.path.abspath(edgeprobe.__file__)))
    paths = [home, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


async def _read(child: asyncio.subprocess.Process, done: Done) -> None:
    import asyncio

    assert child.stdout is not None
    with contextlib.suppress(asyncio.IncompleteReadError):
        while True:
            (size,) = FRAME.unpack(await child.stdout.readexactly(FRAME.size))
            # our own child's bytes (module docstring), never a peer's
            batch: list[tuple[int, FetchResult]] = pickle.loads(  # noqa: S301
                await child.stdout.readexactly(size))
            for index, fetched in batch:
                done(index, fetched)
    await child.wait()


def main() -> None:
    """The child: read the job, run it, stream the results back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        site, probe, cainfo, transfers, then = pickle.load(sys.stdin.buffer)  # noqa: S301 (parent)
    except (EOFError, pickle.UnpicklingError):  # the parent went away before the job came
        return
    # the frames get the pipe to themselves: anything else printed here goes to stderr
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    batch: list[tuple[int, FetchResult]] = []
    sent = time.monotonic()

    def flush() -> None:
        nonlocal sent
        data = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
        out.write(FRAME.pack(len(data)) + data)
        out.flush()
        batch.clear()
        sent = time.monotonic()

    def done(index: int, fetched: FetchResult) -> None:
        batch.append((index, fetched))
        if len(batch) >= BATCH or time.monotonic() - sent >= FLUSH_S:
            flush()

    try:
        Engine(site, probe, transfers, cainfo, done, then).run()
        if batch:
            flush()
    except BrokenPipeError:  # the parent is gone: nobody to tell
        os._exit(0)


if __name__ == "__main__":
    main()
