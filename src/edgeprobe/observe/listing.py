"""Keys spread over a bucket prefix's whole key range, newest included (for sample.py).

S3 lists keys in byte order, and Mastodon's keys hold the record's id split in groups of
three (``media_attachments/files/109/530/102/400/672/238/original/…``): the first
``list_limit`` keys of a prefix are its oldest media, which every edge has long cached. A
new upload — the object no cache holds, the one a broken path to the bucket fails first —
sits at the end of the range. So the sample walks the key tree with ``Delimiter="/"``: at
each level the chosen branches are spread evenly over the levels' names, the last one (the
highest id: the newest) always among them, down to the objects.

Bounded: at most MAX_LISTINGS levels listed per prefix, each up to ``list_limit`` names
(objects and sub-prefixes; S3 pages of 1,000, one page for a Mastodon id level; through
libcurl or the client: bucket_list.py), each through ``threads.call`` with a deadline;
sibling branches are listed side by side (at most PARALLEL).
"""

from __future__ import annotations

import asyncio
import random

from edgeprobe.config.settings import OriginSettings
from edgeprobe.mastodon import PLACEHOLDER_TAIL
from edgeprobe.observe import bucket_list, threads
from edgeprobe.observe.observations import OriginObject

MAX_LISTINGS = 64
PARALLEL = 8


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


class _Walk:
    def __init__(self, origin: OriginSettings, limit: int, seed: int, timeout_s: float,
                 prefix: str) -> None:
        self.origin, self.bucket, self.timeout_s = origin, origin.bucket, timeout_s
        self.limit = limit
        self.calls = 0
        self.rng = random.Random(f"{seed}:{prefix}")
        self.gate = asyncio.Semaphore(PARALLEL)

    async def level(self, prefix: str) -> tuple[list[OriginObject], list[str]]:
        """The objects directly under ``prefix`` and its sub-prefixes (one listing call)."""
        self.calls += 1
        async with self.gate:
            found, subs = await threads.call(
                bucket_list.level, self.origin, prefix, self.limit, self.timeout_s,
                deadline=self.timeout_s * (1 + self.limit // 1000),
                lane=f"list {self.bucket} {prefix}")
        objects = [OriginObject(o["Key"], True, o.get("Size"), o.get("ETag")) for o in found
                   if not o["Key"].endswith("/") and not o["Key"].endswith(PLACEHOLDER_TAIL)]
        return objects, sorted(subs)

    async def take(self, prefix: str, want: int) -> list[OriginObject]:
        objects, subs = await self.level(prefix)
        if not subs or self.calls >= MAX_LISTINGS:
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
        found = await asyncio.gather(*(self.take(b, share[b]) for b in branches))
        return here + [o for group in found for o in group]


async def spread_sample(origin: OriginSettings, prefix: str, want: int, limit: int,
                        seed: int, timeout_s: float) -> dict[str, OriginObject]:
    """Up to ``want`` keys under ``prefix``, spread over its key range (the newest among
    them), with what the listing says of each (exists, size, ETag). Raises what the
    bucket call raises (the caller makes it a note)."""
    walk = _Walk(origin, limit, seed, timeout_s, prefix)
    found = await walk.take(prefix, want)
    return {o.key: o for o in sorted(found, key=lambda o: o.key)}
