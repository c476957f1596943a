"""Whether an edge answered from its cache, from the headers edges and CDNs send; and the
edge that never caches.

nginx's ``$upstream_cache_status`` (MISS, BYPASS, EXPIRED, STALE, UPDATING, REVALIDATED,
HIT) arrives as ``X-Cache-Status`` (Mastodon's proxy page) or ``X-Cached`` (its main site
config); Cloudflare sends ``CF-Cache-Status``; CloudFront, Fastly and Varnish ``X-Cache``
("Hit from cloudfront", "MISS, HIT": the last value is the edge nearest the client). An
``Age`` above 0 means a cached copy where no status header says otherwise. An nginx edge
without a ``proxy_cache`` line sends none of them at all (``$upstream_cache_status`` is
empty, so ``add_header`` drops the header): where its peers say HIT on the same objects, that
silence is itself the sign of an edge that never caches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

from edgeprobe.observe.observations import FetchResult

STATUS_HEADERS = ("X-Cache-Status", "X-Cached", "CF-Cache-Status", "X-Cache")
HIT_WORDS = ("HIT", "STALE", "UPDATING", "REVALIDATED")
MISS_WORDS = ("MISS", "BYPASS", "EXPIRED", "DYNAMIC", "PASS", "NONE")
HIT, MISS = "hit", "miss"


def cache_status(headers: Mapping[str, str]) -> str | None:
    """``hit``, ``miss`` or None (nothing says) for one answer's headers."""
    for name in STATUS_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        word = value.split(",")[-1].strip().upper()
        if any(w in word for w in HIT_WORDS):
            return HIT
        if any(w in word for w in MISS_WORDS):
            return MISS
    age = headers.get("Age", "").strip()
    if age.isdigit() and int(age) > 0:
        return HIT
    return None


def age_s(headers: Mapping[str, str]) -> int | None:
    age = headers.get("Age", "").strip()
    return int(age) if age.isdigit() else None


class CacheSummary(TypedDict):
    """One node's cache, from its 200s (the run result's ``nodes[].cache``)."""

    hits: int
    misses: int
    unknown: int
    hit_share: float | None
    max_age_s: int | None
    no_hit_runs: NotRequired[int]  # runs in a row without a hit (added with the state)


def cache_summary(fetches: Sequence[FetchResult]) -> CacheSummary:
    """Hits, misses and answers that said nothing, over one node's 200s; the hit share
    among those that said; the oldest cached copy's Age."""
    ok = [f for f in fetches if f.status_code == 200]
    said = [cache_status(f.headers) for f in ok]
    hits, misses = said.count(HIT), said.count(MISS)
    ages = [a for f in ok if (a := age_s(f.headers)) is not None]
    return {"hits": hits, "misses": misses, "unknown": len(said) - hits - misses,
            "hit_share": round(hits / (hits + misses), 3) if hits + misses else None,
            "max_age_s": max(ages) if ages else None}


def no_hit_streaks(caches: Mapping[str, CacheSummary],
                   before: Mapping[str, int]) -> dict[str, int]:
    """Runs in a row in which a node served 200s none of which was a cache hit — each said
    MISS/BYPASS, or nothing at all (no status header, no ``Age``: no cache in the path) —
    while another node had cache hits on the same objects (so the objects had been asked
    for before): ``before`` (from the state file) plus this run, or 0 once it hits."""
    hitting = {n for n, c in caches.items() if c["hits"]}
    out = {}
    for node, c in caches.items():
        served = c["misses"] + c["unknown"] > 0
        cold = served and not c["hits"] and bool(hitting - {node})
        out[node] = before.get(node, 0) + 1 if cold else 0
    return out
