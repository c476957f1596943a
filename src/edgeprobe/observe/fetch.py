"""Stage 4: GET every sampled object from every node, as ``curl --connect-to`` does.

One libcurl multi handle runs every transfer, in one dedicated thread: libcurl's own loop
waits on the sockets, and the event loop stays free for the bucket check. Driving the multi
handle from asyncio's socket and timer callbacks instead (as Tornado's client does) was
built and measured against it: 9% slower on 64 KiB objects, the same on 2 MiB, and it
would hold the event loop while hashing (docs/performance.md). Each transfer keeps
the media host in its URL, Host header, TLS SNI and certificate check, while CONNECT_TO
sends its packets to the node; libcurl's connection cache tells connections apart by that
target too, so one node's pooled connection never answers for another. Limits: at most
``concurrency`` transfers in flight, and each node at most its share (see
connections_per_node). Results come back to the event loop as they finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import tempfile
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace

import pycurl

from edgeprobe.config.settings import ProbeSettings, SiteSettings
from edgeprobe.observe import threads
from edgeprobe.observe.observations import MAIN, FetchResult, Followup, SampleObject, Target
from edgeprobe.observe.transfer import Transfer, base_url, configure, result

SELECT_S = 0.5  # the longest the engine waits for a socket before looking again
ENGINES = 1  # engines by default: 2 measured no better overall (docs/performance.md)


async def tls_verification(site: SiteSettings, address: str, port: int,
                           timeout_s: float) -> str | None:
    """What certificate verification would say of one address, for runs with verify_tls =
    false (so a wrong or expired certificate is still on record): None when it passes or
    when no handshake could be made at all (the fetch reports that)."""
    ctx = ssl.create_default_context()
    if site.ca_file:
        ctx.load_verify_locations(cafile=site.ca_file)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(
            address, port, ssl=ctx, server_hostname=site.media_host), timeout_s)
    except ssl.SSLCertVerificationError as exc:
        return f"certificate rejected: {exc.verify_message}"[:300]
    except (OSError, TimeoutError):
        return None
    writer.close()
    return None


def connections_per_node(probe: ProbeSettings, nodes: int) -> int:
    """per_node_concurrency, but no more than each node's share of the global concurrency,
    so open TLS connections (nodes × this) stay near ``concurrency`` however big the fleet."""
    share = probe.concurrency // max(1, nodes)
    return max(1, min(probe.per_node_concurrency, share))


def ca_bundle(site: SiteSettings, directory: str) -> str | None:
    """The CA file libcurl verifies with: the system's trust store plus ``ca_file`` (libcurl
    takes one file; Python's default paths say where the system's is)."""
    if site.scheme != "https":
        return None
    paths = ssl.get_default_verify_paths()
    system = next((p for p in (paths.cafile, paths.openssl_cafile,
                               "/etc/ssl/certs/ca-certificates.crt") if p and os.path.isfile(p)),
                  None)
    if not site.ca_file:
        return system
    bundle = os.path.join(directory, "ca-bundle.pem")
    with open(bundle, "wb") as out:
        for path in (system, site.ca_file):
            if path:
                with open(path, "rb") as src:
                    out.write(src.read() + b"\n")
    return bundle


class _Engine:
    """The multi loop: fills free slots per node, runs libcurl, hands results back."""

    def __init__(self, site: SiteSettings, probe: ProbeSettings, transfers: Sequence[Transfer],
                 cainfo: str | None, done: Callable[[int, FetchResult], None]) -> None:
        self.site, self.probe, self.cainfo, self.done = site, probe, cainfo, done
        self.cancelled = False  # set from the event loop: stop within SELECT_S
        self.queues: dict[str, deque[Transfer]] = {}
        for t in transfers:
            self.queues.setdefault(t.target.node, deque()).append(t)
        self.per_node = connections_per_node(probe, len(self.queues))
        self.running: dict[str, int] = dict.fromkeys(self.queues, 0)
        self.multi = pycurl.CurlMulti()
        self.idle: list[pycurl.Curl] = []
        self.active: dict[pycurl.Curl, Transfer] = {}

    def _fill(self) -> None:
        for node, queue in self.queues.items():
            while queue and self.running[node] < self.per_node and \
                    len(self.active) < self.probe.concurrency:
                t = queue.popleft()
                curl = self.idle.pop() if self.idle else pycurl.Curl()
                configure(curl, t, self.site, self.probe, self.cainfo)
                self.active[curl] = t
                self.running[node] += 1
                self.multi.add_handle(curl)

    def _finish(self, curl: pycurl.Curl, code: int | None, message: str | None) -> None:
        t = self.active.pop(curl)
        self.running[t.target.node] -= 1
        self.multi.remove_handle(curl)
        self.done(t.index, result(curl, t, self.site, code, message))
        curl.reset()
        self.idle.append(curl)

    def run(self) -> None:
        try:
            self._fill()
            while self.active and not self.cancelled:
                while self.multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
                    pass
                while True:
                    left, ok, failed = self.multi.info_read()
                    for curl in ok:
                        self._finish(curl, None, None)
                    for curl, code, message in failed:
                        self._finish(curl, code, message)
                    if not left:
                        break
                if not self.cancelled:
                    self._fill()
                if self.active:
                    self.multi.select(SELECT_S)
        finally:
            for curl in [*self.active, *self.idle]:
                with contextlib.suppress(pycurl.error):
                    self.multi.remove_handle(curl)
                curl.close()
            self.multi.close()


def engines() -> int:
    """How many multi handles run the transfers, each in its own thread with its own share
    of the nodes. libcurl's I/O and hashlib's MD5 of large buffers release the GIL, so a
    second engine could use a second core; measured, it did not pay overall (docs/
    performance.md: +14% on 2 MiB objects, -8% on 64 KiB), so one is the default and
    ``EDGEPROBE_ENGINES`` chooses another, for that measurement."""
    given = os.environ.get("EDGEPROBE_ENGINES", "")
    if given.isdigit() and 0 < int(given) <= 16:
        return int(given)
    return max(1, min(ENGINES, os.cpu_count() or 1))


def _split(transfers: Sequence[Transfer], count: int) -> list[list[Transfer]]:
    """The transfers in ``count`` groups, each node's all in one group (its connections
    stay in one engine's cache), nodes dealt round-robin."""
    nodes = list(dict.fromkeys(t.target.node for t in transfers))
    count = max(1, min(count, len(nodes)))
    group_of = {node: i % count for i, node in enumerate(nodes)}
    groups: list[list[Transfer]] = [[] for _ in range(count)]
    for t in transfers:
        groups[group_of[t.target.node]].append(t)
    return groups


def _transfer(site: SiteSettings, probe: ProbeSettings, index: int, target: Target,
              obj: SampleObject, origin: str | None, variant: str = MAIN,
              want_cert: bool = False) -> Transfer:
    return Transfer(index, target, obj, base_url(site, target.port) + obj.path,
                    probe.max_body_bytes, want_cert=want_cert, variant=variant, origin=origin)


async def fetch_all(site: SiteSettings, probe: ProbeSettings, targets: Sequence[Target],
                    objects: Sequence[SampleObject],
                    on_result: Callable[[FetchResult], None] | None = None,
                    origin: str | None = None) -> list[FetchResult]:
    """Every object from every target, in object-major order (the global limit is shared
    fairly); never raises for anything a node does (each failure is a FetchResult carrying
    its error). ``origin``: the web UI's Origin, sent with every request."""
    transfers = [_transfer(site, probe, n * len(targets) + i, target, obj, origin,
                           want_cert=n == 0)
                 for n, obj in enumerate(objects) for i, target in enumerate(targets)]
    return await _run(site, probe, transfers, on_result)


async def fetch_followups(site: SiteSettings, probe: ProbeSettings,
                          followups: Sequence[Followup],
                          origin: str | None = None) -> list[FetchResult]:
    """The browser checks (observe/followup.py), as fetch_all runs the sampled GETs."""
    return await _run(site, probe, [_transfer(site, probe, i, f.target, f.obj, origin,
                                              f.variant) for i, f in enumerate(followups)],
                      None)


async def _run(site: SiteSettings, probe: ProbeSettings, transfers: Sequence[Transfer],
               on_result: Callable[[FetchResult], None] | None) -> list[FetchResult]:
    if not transfers:
        return []
    loop = asyncio.get_running_loop()
    results: list[FetchResult | None] = [None] * len(transfers)

    def done(index: int, fetched: FetchResult) -> None:  # on the engine's thread
        results[index] = fetched
        if on_result is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone after a Ctrl-C
                loop.call_soon_threadsafe(on_result, fetched)

    with tempfile.TemporaryDirectory(prefix="edgeprobe-ca-") as directory:
        cainfo = ca_bundle(site, directory)
        groups = _split(transfers, engines())
        share = replace(probe, concurrency=max(1, probe.concurrency // len(groups)))
        running = [_Engine(site, share, group, cainfo, done) for group in groups]
        # daemon threads: a Ctrl-C never waits for a node that is still dripping; a
        # cancelled run (serve's /probe whose caller went away) stops its transfers too
        try:
            await asyncio.gather(*(threads.call(e.run, deadline=None) for e in running))
        except asyncio.CancelledError:
            for engine in running:
                engine.cancelled = True
            raise
    await asyncio.sleep(0)  # let the last progress callbacks run
    return [r for r in results if r is not None]
