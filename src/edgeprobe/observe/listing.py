"""Keys spread over a bucket prefix's whole key range, newest included (for sample.py).

S3 lists keys in byte order, and Mastodon's keys hold the record's id split in groups of
three (``media_attachments/files/109/530/102/400/672/238/original/…``): the first
``list_limit`` keys of a prefix are its oldest media, which every edge has long cached. A
new upload — the object no cache holds, the one a broken path to the bucket fails first —
sits at the end of the range. So the sample walks the key tree with ``Delimiter="/"``: at
each level the chosen branches are spread evenly over the levels' names, the last one (the
highest id: the newest) always among them, down to the objects.

Each key in a branch of its own costs a listing per level below the fork: eight for a
Mastodon key under ``media_attachments/files/``. So the walk may list LISTINGS_PER_KEY
levels per wanted key (at least MIN_LISTINGS, at most MAX_LISTINGS) — a fixed 64 sampled
nothing for ``per_prefix = 60`` on such a tree. Each level is read up to ``list_limit``
names (objects and sub-prefixes; S3 pages of 1,000, one page for a Mastodon id level;
through libcurl or the client: bucket_list.py), through ``threads.call`` with a deadline;
sibling branches are listed side by side (at most PARALLEL), depth first and the newest
branch first (``_Gate``). A walk that reaches its budget says so (``Spread.cut``): the
caller notes the keys it did not get.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from dataclasses import dataclass

from edgeprobe.config.settings import OriginSettings
from edgeprobe.mastodon import PLACEHOLDER_TAIL
from edgeprobe.observe import bucket_list, threads
from edgeprobe.observe.observations import OriginObject

LISTINGS_PER_KEY = 16  # twice a Mastodon key's depth below its class prefix
MIN_LISTINGS = 64
MAX_LISTINGS = 4096  # at PARALLEL 8 and ~50 ms a listing: half a minute
PARALLEL = 8


def budget(want: int) -> int:
    """The listings a walk for ``want`` keys may make."""
    return min(MAX_LISTINGS, max(MIN_LISTINGS, want * LISTINGS_PER_KEY))


@dataclass(frozen=True)
class Spread:
    """What a walk found, and whether it spent its ``budget`` of listings with branches
    still unlisted."""

    objects: dict[str, OriginObject]
    budget: int
    cut: bool


def spread(names: list[str], want: int, rng: random.Random) -> list[str]:
    """``want`` of ``names`` (sorted), spread over them: the last name (the newest) always,
    and one from each of ``want - 1`` equal strides over the rest."""
    n = len(names)
    if want >= n:
        return list(names)
    if want <= 0:
        return []
    chosen = {n - 1}
    rest = n - 1  # >= want: every stride below holds at least one name
    for i in range(want - 1):
        lo = i * rest // (want - 1)
        hi = max(lo + 1, (i + 1) * rest // (want - 1))
        chosen.add(rng.randrange(lo, hi))
    return [names[i] for i in sorted(chosen)]


class _Gate:
    """At most ``slots`` listings at once, a freed slot going to the waiting listing first in
    the walk's order — a tuple of branch ranks, the newest branch ranked 0 —, not to the
    first that asked. A plain semaphore lists the tree breadth first: every branch's second
    level before any branch's third, so a budget too small for all of them ran out with
    no branch at its key (20 keys on 100 listings: none; in this order: 8 to 10). Here the
    walk goes depth first, the newest branch first, and a budget that runs out leaves the
    oldest branches unlisted instead."""

    def __init__(self, slots: int) -> None:
        self.free = slots
        self.waiting: list[tuple[tuple[int, ...], asyncio.Future[None]]] = []

    async def acquire(self, order: tuple[int, ...]) -> None:
        if self.free and not self.waiting:
            self.free -= 1
            return
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiting, (order, granted))  # each listing's order is its own
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.release()  # granted, then cancelled before it ran: pass the slot on
            raise

    def release(self) -> None:
        while self.waiting:
            _, granted = heapq.heappop(self.waiting)
            if not granted.done():  # a cancelled waiter's future is done
                granted.set_result(None)
                return
        self.free += 1


class _Walk:
    def __init__(self, origin: OriginSettings, limit: int, seed: int, timeout_s: float,
                 prefix: str, want: int) -> None:
        self.origin, self.bucket, self.timeout_s = origin, origin.bucket, timeout_s
        self.limit = limit
        self.calls, self.budget, self.cut = 0, budget(want), False
        self.rng = random.Random(f"{seed}:{prefix}")
        self.gate = _Gate(PARALLEL)

    async def level(self, prefix: str,
                    order: tuple[int, ...]) -> tuple[list[OriginObject], list[str]] | None:
        """The objects directly under ``prefix`` and its sub-prefixes (one listing call), or
        None once the walk's budget is spent (counted in the gate's slot: exact)."""
        await self.gate.acquire(order)
        try:
            if self.calls >= self.budget:
                self.cut = True
                return None
            self.calls += 1
            found, subs = await threads.call(
                bucket_list.level, self.origin, prefix, self.limit, self.timeout_s,
                deadline=self.timeout_s * (1 + self.limit // 1000),
                lane=f"list {self.bucket} {prefix}")
        finally:
            self.gate.release()
        objects = [OriginObject(o["Key"], True, o.get("Size"), o.get("ETag")) for o in found
                   if not o["Key"].endswith("/") and not o["Key"].endswith(PLACEHOLDER_TAIL)]
        return objects, sorted(subs)

    async def take(self, prefix: str, want: int, order: tuple[int, ...] = ()) -> list[OriginObject]:
        listed = await self.level(prefix, order)
        if listed is None:
            return []
        objects, subs = listed
        if not subs:
            return [o for o in objects if o.key in spread([x.key for x in objects], want,
                                                         self.rng)]
        # the objects at this level and the branches below compete for the wanted keys
        names = [o.key for o in objects] + subs
        chosen = spread(names, want, self.rng)
        here = [o for o in objects if o.key in chosen]
        branches = [n for n in chosen if n in subs]
        # a branch chosen once gives one key; spare wants go to the newest branch
        share = {b: 1 for b in branches}
        if branches:
            share[branches[-1]] += want - len(here) - len(branches)
        last = len(branches) - 1  # ranked newest first: (…, 0) is listed before (…, 1)
        found = await asyncio.gather(*(self.take(b, share[b], (*order, last - i))
                                       for i, b in enumerate(branches)))
        return here + [o for group in found for o in group]


async def spread_sample(origin: OriginSettings, prefix: str, want: int, limit: int,
                        seed: int, timeout_s: float) -> Spread:
    """Up to ``want`` keys under ``prefix``, spread over its key range (the newest among
    them), with what the listing says of each (exists, size, ETag). Raises what the
    bucket call raises (the caller makes it a note)."""
    walk = _Walk(origin, limit, seed, timeout_s, prefix, want)
    found = await walk.take(prefix, want)
    return Spread({o.key: o for o in sorted(found, key=lambda o: o.key)}, walk.budget,
                  walk.cut)
