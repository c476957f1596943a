"""The libcurl multi loop that runs a batch of transfers, with no event loop in sight, so
it runs the same in a thread of the probing process and in a worker process
(observe/worker.py).

One multi handle, driven by libcurl's own socket wait: filling free slots per node
(at most ``concurrency`` transfers in flight, each node at most its share, see
connections_per_node), reporting each finished transfer through ``done`` on the loop's own
thread. With ``then``, a node's last sampled GET (variant MAIN) hands all of the node's
answers to ``then``, whose transfers (its browser checks) join the node's queue at once, on
its warm connection, while other nodes are still being fetched.

Driving the multi handle from asyncio's socket and timer callbacks instead (as Tornado's
client does) was built and measured against this: 9% slower on 64 KiB objects, the same on
2 MiB, and it would hold the event loop while hashing (docs/performance.md).
"""

from __future__ import annotations

import contextlib
from collections import Counter, deque
from collections.abc import Callable, Sequence

import pycurl

from edgeprobe.config.settings import ProbeSettings, SiteSettings
from edgeprobe.observe.observations import MAIN, FetchResult, Target
from edgeprobe.observe.transfer import Transfer, configure, result

SELECT_S = 0.5  # the longest the engine waits for a socket before looking again

Done = Callable[[int, FetchResult], None]
Then = Callable[[Target, list[FetchResult]], list[Transfer]]  # a node's answers → more


def wait(multi: pycurl.CurlMulti) -> None:
    """Until a socket is ready or libcurl's own timer is due, SELECT_S at most. libcurl's
    timer says 0 when it already holds data a socket will not signal again (HTTP/2 frames
    read ahead for another stream, TLS records decrypted ahead): a plain select() there
    slept the whole SELECT_S, ~0.5 s stalls at the tail of a fetch over HTTP/2."""
    due_ms = multi.timeout()
    if due_ms == 0:
        return
    multi.select(SELECT_S if due_ms < 0 else min(SELECT_S, due_ms / 1000))


def connections_per_node(probe: ProbeSettings, nodes: int) -> int:
    """per_node_concurrency, but no more than each node's share of the global concurrency,
    so open TLS connections (nodes × this) stay near ``concurrency`` however big the fleet."""
    share = probe.concurrency // max(1, nodes)
    return max(1, min(probe.per_node_concurrency, share))


def split(transfers: Sequence[Transfer], count: int) -> list[list[Transfer]]:
    """The transfers in at most ``count`` groups, each node's all in one group (its
    connections stay in one engine's cache, its first request records its certificate),
    nodes dealt round-robin."""
    nodes = list(dict.fromkeys(t.target.node for t in transfers))
    count = max(1, min(count, len(nodes)))
    group_of = {node: i % count for i, node in enumerate(nodes)}
    groups: list[list[Transfer]] = [[] for _ in range(count)]
    for t in transfers:
        groups[group_of[t.target.node]].append(t)
    return groups


class Engine:
    """The multi loop: fills free slots per node, runs libcurl, hands results back."""

    def __init__(self, site: SiteSettings, probe: ProbeSettings, transfers: Sequence[Transfer],
                 cainfo: str | None, done: Done, then: Then | None = None) -> None:
        self.site, self.probe, self.cainfo, self.done = site, probe, cainfo, done
        self.cancelled = False  # set from another thread: stop within SELECT_S
        self.queues: dict[str, deque[Transfer]] = {}
        for t in transfers:
            self.queues.setdefault(t.target.node, deque()).append(t)
        self.then = then
        # each node's sampled GETs still to answer, and the answers so far (for ``then``)
        self.unanswered = Counter(t.target.node for t in transfers if t.variant == MAIN)
        self.answers: dict[str, list[tuple[int, FetchResult]]] = {}
        self.per_node = connections_per_node(probe, len(self.queues))
        self.running: dict[str, int] = dict.fromkeys(self.queues, 0)
        self.multi = pycurl.CurlMulti()
        # no more connections kept open than transfers in flight: libcurl closes the oldest
        # idle one (a node whose objects are done, as _fill serves nodes in order) for a new
        # one; by default it kept every node's, ~0.3 MB each (40 MB at 200 edges)
        self.multi.setopt(pycurl.M_MAXCONNECTS, max(1, probe.concurrency))
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
        fetched = result(curl, t, self.site, code, message)
        self.done(t.index, fetched)
        curl.reset()
        self.idle.append(curl)
        if self.then is not None and t.variant == MAIN:
            self._answered(t, fetched)

    def _answered(self, t: Transfer, fetched: FetchResult) -> None:
        """Note a sampled GET's answer; after a node's last, queue what ``then`` makes of
        them all (in the order they were asked, as a plan of the whole fleet sees them)."""
        assert self.then is not None
        node = t.target.node
        self.answers.setdefault(node, []).append((t.index, fetched))
        self.unanswered[node] -= 1
        if self.unanswered[node] == 0 and not self.cancelled:
            answers = [f for _, f in sorted(self.answers.pop(node), key=lambda a: a[0])]
            self.queues[node].extend(self.then(t.target, answers))

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
                    wait(self.multi)
        finally:
            for curl in [*self.active, *self.idle]:
                with contextlib.suppress(pycurl.error):
                    self.multi.remove_handle(curl)
                curl.close()
            self.multi.close()
