"""Stage 4: GET every sampled object from every node, as ``curl --connect-to`` does.

libcurl's multi interface runs the transfers (observe/engine.py): for a big fetch, the
nodes are shared between a thread of this process and worker processes (observe/worker.py,
``[probe] processes``), so the hashing and the per-chunk callbacks of one never wait for
another's GIL; for a small one, or with ``processes = 0``, all in that one thread. Measured
side by side (docs/performance.md): this process and one worker against two workers, the
same speed (or better) with one interpreter less (~30 MB); against one thread, +16% on 2 MiB
objects, +9% at 200 edges, -5% on 64 KiB objects at 20 edges (noise); two engines in threads
of one process did not pay (+14% on 2 MiB, -8% on 64 KiB). Each
transfer keeps the media host in its URL, Host header, TLS SNI and certificate check,
while CONNECT_TO sends its packets to the node; libcurl's connection cache tells
connections apart by that target too, so one node's pooled connection never answers for
another. Results come back to the event loop as they finish, in the order asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace

from edgeprobe.config.settings import ProbeSettings, SiteSettings
from edgeprobe.observe import threads, worker
from edgeprobe.observe.engine import Engine, Then, split
from edgeprobe.observe.observations import FetchResult, Followup, SampleObject, Target
from edgeprobe.observe.transfer import Transfer, request
from edgeprobe.observe.trust import ca_bundle

PER_PROCESS = 100  # transfers a fetching process must have for a worker to be worth starting


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def processes(probe: ProbeSettings, transfers: int) -> int:
    """How many worker processes fetch beside this one (0: all in a thread of this one):
    ``[probe] processes``, but no more than the cores left beside this process's own, and
    one fetching process per PER_PROCESS transfers at most, so a small fetch (a partial
    run, the browser checks, a re-test) does not pay a process's start-up (~0.1 s of CPU)."""
    return max(0, min(probe.processes, cores() - 1, transfers // PER_PROCESS - 1))


async def fetch_all(site: SiteSettings, probe: ProbeSettings, targets: Sequence[Target],
                    objects: Sequence[SampleObject],
                    on_result: Callable[[FetchResult], None] | None = None,
                    origin: str | None = None) -> list[FetchResult]:
    """Every object from every target, in object-major order (the global limit is shared
    fairly); never raises for anything a node does (each failure is a FetchResult carrying
    its error). ``origin``: the web UI's Origin, sent with every request."""
    return (await fetch_each(site, probe, targets, objects, on_result, origin))[0]


async def fetch_each(site: SiteSettings, probe: ProbeSettings, targets: Sequence[Target],
                     objects: Sequence[SampleObject],
                     on_result: Callable[[FetchResult], None] | None = None,
                     origin: str | None = None, then: Then | None = None
                     ) -> tuple[list[FetchResult], list[FetchResult]]:
    """fetch_all, and what ``then`` adds after each node's GETs (its browser checks:
    followup.FollowOn), numbered after the GETs' len(objects) × len(targets) indices:
    (the GETs' answers, the added transfers' answers)."""
    transfers = [request(site, probe, n * len(targets) + i, target, obj, origin,
                         want_cert=n == 0)
                 for n, obj in enumerate(objects) for i, target in enumerate(targets)]
    return await _run(site, probe, transfers, on_result, then)


async def fetch_followups(site: SiteSettings, probe: ProbeSettings,
                          followups: Sequence[Followup],
                          origin: str | None = None) -> list[FetchResult]:
    """The browser checks (observe/followup.py), as fetch_all runs the sampled GETs."""
    transfers = [request(site, probe, i, f.target, f.obj, origin, f.variant)
                 for i, f in enumerate(followups)]
    return (await _run(site, probe, transfers, None))[0]


async def _in_workers(site: SiteSettings, probe: ProbeSettings,
                      groups: Sequence[Sequence[Transfer]], cainfo: str | None,
                      done: Callable[[int, FetchResult], None], then: Then | None) -> None:
    with contextlib.suppress(OSError):  # no process to be had: this one fetches what is left
        await worker.run(site, probe, groups, cainfo, done, then)


async def _run(site: SiteSettings, probe: ProbeSettings, transfers: Sequence[Transfer],
               on_result: Callable[[FetchResult], None] | None, then: Then | None = None
               ) -> tuple[list[FetchResult], list[FetchResult]]:
    """(each transfer's answer in order, the answers of what ``then`` added, by index)."""
    if not transfers:
        return [], []
    loop = asyncio.get_running_loop()
    results: list[FetchResult | None] = [None] * len(transfers)
    added: dict[int, FetchResult] = {}  # index → answer of a transfer ``then`` made

    def keep(index: int, fetched: FetchResult) -> bool:
        """Store an answer; True for a GET's, which progress counts."""
        if index >= len(results):
            added[index] = fetched
            return False
        results[index] = fetched
        return True

    def done(index: int, fetched: FetchResult) -> None:  # on the event loop
        if keep(index, fetched) and on_result is not None:
            on_result(fetched)

    def done_threadsafe(index: int, fetched: FetchResult) -> None:  # on an engine's thread
        if keep(index, fetched) and on_result is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone after a Ctrl-C
                loop.call_soon_threadsafe(on_result, fetched)

    with tempfile.TemporaryDirectory(prefix="edgeprobe-ca-") as directory:
        cainfo = ca_bundle(site, directory)
        count = processes(probe, len(transfers))
        # each engine in a daemon thread: a Ctrl-C never waits for a node that is still
        # dripping; a cancelled run (serve's /probe whose caller went away) stops them too
        engines: list[Engine] = []
        workers: asyncio.Future[None] | None = None
        try:
            if count:
                groups = split(transfers, count + 1)  # the first share stays here
                share = replace(probe, concurrency=max(1, probe.concurrency // len(groups)))
                engines.append(Engine(site, share, groups[0], cainfo, done_threadsafe, then))
                workers = asyncio.ensure_future(
                    _in_workers(site, share, groups[1:], cainfo, done, then))
                await threads.call(engines[0].run, deadline=None)
                await workers
            # every transfer, or those a worker process left without a result (its nodes'
            # browser checks are then the caller's: ``then`` needs all of a node's answers)
            left = [t for t in transfers if results[t.index] is None]
            if left:
                engines.append(Engine(site, probe, left, cainfo, done_threadsafe,
                                      then if len(left) == len(transfers) else None))
                await threads.call(engines[-1].run, deadline=None)
        except BaseException:
            for engine in engines:
                engine.cancelled = True
            if workers is not None:  # not asyncio.gather: it returns before they are reaped
                workers.cancel()
                await asyncio.wait([workers])  # the children killed and reaped
            raise
    await asyncio.sleep(0)  # let the last progress callbacks run
    return [r for r in results if r is not None], [added[i] for i in sorted(added)]
